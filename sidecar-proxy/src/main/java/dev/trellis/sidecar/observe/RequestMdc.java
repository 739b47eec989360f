package dev.trellis.sidecar.observe;

import dev.trellis.sidecar.error.StreamInfo;
import org.slf4j.MDC;

/**
 * A request's {@code request_id} and {@code trace_id} in the logging MDC for the log statements
 * inside a try-with-resources block, so JSON log lines about a request carry its ids. Event loops
 * interleave many requests on one thread, so the ids are set around a statement and removed after
 * it, never left behind; open it only on a path that logs (after {@code isDebugEnabled()} or on a
 * warning), which keeps the request path free of MDC work.
 */
public final class RequestMdc implements AutoCloseable {
    public static final String REQUEST_ID = "request_id";
    public static final String TRACE_ID = "trace_id";
    private static final RequestMdc OPEN = new RequestMdc();

    private RequestMdc() {}

    /** Puts {@code info}'s request id and trace id (those it has) into the MDC until {@link #close()}. */
    public static RequestMdc of(StreamInfo info) {
        put(REQUEST_ID, info.requestId());
        put(TRACE_ID, info.traceId());
        return OPEN;
    }

    private static void put(String key, String value) {
        if (value != null && !value.isEmpty() && !"-".equals(value)) {
            MDC.put(key, value);
        }
    }

    @Override
    public void close() {
        MDC.remove(REQUEST_ID);
        MDC.remove(TRACE_ID);
    }
}
