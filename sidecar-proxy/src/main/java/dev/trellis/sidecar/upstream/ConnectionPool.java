package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.error.ResponseFlag;

/**
 * Connections to one host on one event loop, for one routing priority. All methods except the
 * read-only counters run on that event loop; the counters may be read from any thread (for gauges).
 */
public interface ConnectionPool {
    /**
     * Opens a stream for {@code listener}; {@code callback} learns the outcome. The returned handle
     * withdraws a request that still waits for a connection or stream (its callback is then never
     * called); it does nothing once the callback ran.
     */
    Cancellable newStream(UpstreamListener listener, Callback callback);

    /** Open connections. */
    int connections();

    /**
     * Requests waiting for a connection or stream: those queued because no connection may open (each
     * holding a {@code max_pending_requests} slot) and those behind a connection being opened.
     */
    int pendingRequests();

    /** Streams (HTTP/2) or exchanges (HTTP/1.1) in progress. */
    int activeRequests();

    /** Open connections that carry no request now. */
    int idleConnections();

    /** Closes idle connections now and the rest when their streams end. */
    void drain();

    /** Outcome of {@link #newStream}. */
    interface Callback {
        void onReady(UpstreamStream stream);

        void onFailure(ResponseFlag flag, String detail);
    }

    /** Withdraws a request from the pool. */
    interface Cancellable {
        Cancellable NONE = () -> { };

        void cancel();
    }
}
