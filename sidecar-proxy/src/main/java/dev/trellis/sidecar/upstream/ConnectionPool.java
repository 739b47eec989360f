package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.error.ResponseFlag;

/** Connections to one host on one event loop. All methods run on that event loop. */
public interface ConnectionPool {
    /** Opens a stream for {@code listener}; {@code callback} learns the outcome. */
    void newStream(UpstreamListener listener, Callback callback);

    /** Open connections. */
    int connections();

    /** Closes idle connections now and the rest when their streams end. */
    void drain();

    /** Outcome of {@link #newStream}. */
    interface Callback {
        void onReady(UpstreamStream stream);

        void onFailure(ResponseFlag flag, String detail);
    }
}
