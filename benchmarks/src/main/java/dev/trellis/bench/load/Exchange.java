package dev.trellis.bench.load;

import java.util.concurrent.Executor;

/**
 * One client connection's way of sending a request and hearing its outcome. Implementations
 * complete every send exactly once, on {@link #executor()}, so the driver that calls them is
 * single-threaded.
 */
public interface Exchange extends AutoCloseable {

    /** Outcome of one request: {@code null} for success, otherwise a short error kind such as {@code HTTP 503}. */
    @FunctionalInterface
    interface Completion {
        void complete(String error);
    }

    /** Sends one request. Called on {@link #executor()}. */
    void send(Completion done);

    /** The thread that calls {@link #send} and receives completions. */
    Executor executor();

    /** Requests this connection can carry at once: 1 for HTTP/1.1, more for HTTP/2. */
    int maxConcurrency();

    /** Closes the connection; HTTP exchanges must be closed on {@link #executor()} and do not block. */
    @Override
    void close();
}
