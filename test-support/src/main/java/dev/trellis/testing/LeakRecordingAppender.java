package dev.trellis.testing;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;

/**
 * Records Netty's {@code LEAK:} reports (from any logger, shaded Netty included) so that
 * {@link NettyLeakGuard} can fail the test that caused them. Wired in {@code logback-test.xml}.
 */
public final class LeakRecordingAppender extends AppenderBase<ILoggingEvent> {
    @Override
    protected void append(ILoggingEvent event) {
        String message = event.getFormattedMessage();
        if (message != null && message.contains("LEAK:")) {
            LeakReports.add(event.getLoggerName() + ": " + message);
        }
    }
}
