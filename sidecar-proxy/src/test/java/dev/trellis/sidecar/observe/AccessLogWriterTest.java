package dev.trellis.sidecar.observe;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** The writer queues, drops and counts when full, and never blocks the caller. */
class AccessLogWriterTest {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final Counter dropped = registry.counter("dropped");
    final Counter written = registry.counter("written");

    @Test
    void aStuckSinkFillsTheQueueThenLinesAreDroppedAndCounted() throws Exception {
        CountDownLatch opening = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLogWriter w = new AccessLogWriter("stuck", () -> {
            opening.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return out;
        }, 3, dropped, written);
        assertThat(w.offer("line-0")).isTrue();
        assertThat(opening.await(5, TimeUnit.SECONDS)).isTrue();
        long t0 = System.nanoTime();
        int accepted = 0;
        for (int i = 1; i <= 10; i++) {
            if (w.offer("line-" + i)) {
                accepted++;
            }
        }
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1000);
        // line-0 waits in the queue while the sink opens: two more fit
        assertThat(accepted).isEqualTo(2);
        assertThat(dropped.count()).isEqualTo(8.0);
        assertThat(w.queued()).isEqualTo(3);
        release.countDown();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> written.count() == 3.0);
        w.close();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("line-0\nline-1\nline-2\n");
    }

    @Test
    void aSinkThatFailsToOpenKeepsTheLinesUntilItOpens() throws Exception {
        ByteArrayOutputStream good = new ByteArrayOutputStream();
        java.util.concurrent.atomic.AtomicInteger opens = new java.util.concurrent.atomic.AtomicInteger();
        AccessLogWriter w = new AccessLogWriter("flaky", () -> {
            if (opens.getAndIncrement() == 0) {
                throw new IOException("disk full");
            }
            return good;
        }, 16, dropped, written);
        w.offer("a");
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> opens.get() >= 1);
        w.offer("b");
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> written.count() == 2.0);
        w.close();
        assertThat(good.toString(StandardCharsets.UTF_8)).isEqualTo("a\nb\n");
        assertThat(dropped.count()).isZero();
    }

    @Test
    void aLineThatFailsToWriteIsDroppedAndTheSinkIsOpenedAgain() throws Exception {
        ByteArrayOutputStream good = new ByteArrayOutputStream();
        java.util.concurrent.atomic.AtomicInteger opens = new java.util.concurrent.atomic.AtomicInteger();
        AccessLogWriter w = new AccessLogWriter("broken-pipe", () -> opens.getAndIncrement() == 0 ? new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("broken pipe");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("broken pipe");
            }
        } : good, 16, dropped, written);
        w.offer("a".repeat(70_000)); // larger than the buffer: the write reaches the failing stream
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> dropped.count() == 1.0);
        w.offer("b");
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> written.count() == 1.0);
        w.close();
        assertThat(good.toString(StandardCharsets.UTF_8)).isEqualTo("b\n");
    }

    @Test
    void linesOfferedTogetherAreWrittenWithOneFlush() throws Exception {
        int[] flushes = {0};
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AccessLogWriter w = new AccessLogWriter("batched", () -> new OutputStream() {
            @Override
            public void write(int b) {
                bytes.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes.write(b, off, len);
            }

            @Override
            public void flush() {
                flushes[0]++;
            }
        }, 1000, dropped, written);
        for (int i = 0; i < 200; i++) {
            w.offer("line-" + i);
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> written.count() == 200.0);
        // the writer wakes on its interval, not per line: one flush, or two if it woke mid-loop
        assertThat(flushes[0]).isBetween(1, 2);
        w.close();
    }

    @Test
    void closeWritesWhatIsQueuedAndLaterLinesAreDropped() {
        OutputStream[] sink = {new ByteArrayOutputStream()};
        AccessLogWriter w = new AccessLogWriter("c", () -> sink[0], 100, dropped, written);
        for (int i = 0; i < 50; i++) {
            w.offer("x" + i);
        }
        w.close();
        assertThat(written.count()).isEqualTo(50.0);
        assertThat(w.offer("late")).isFalse();
        assertThat(dropped.count()).isEqualTo(1.0);
    }
}
