package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.router.RouteMatcher;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.net.InetSocketAddress;

/** One filter instance for one stream. */
public interface HttpFilter {
    /**
     * Returned by {@link #onRequestHeaders} to stop the chain until the filter calls
     * {@link Context#resume} (for example after fetching keys). The request body is held meanwhile.
     */
    ErrorResponder.LocalReply PAUSE = new ErrorResponder.LocalReply(new DefaultHttp2Headers(), null);

    /**
     * Sees (and may change) the request headers before routing. Returns {@code null} to go on,
     * {@link #PAUSE} to wait, or a reply to answer locally and stop.
     */
    ErrorResponder.LocalReply onRequestHeaders(Http2Headers headers, Context context);

    /**
     * Sees the size of each request body chunk (the bytes themselves go on unchanged). Returns
     * {@code null} to go on, or a reply that ends the stream (sent if no response started yet).
     */
    default ErrorResponder.LocalReply onRequestData(int bytes, boolean endStream, Context context) {
        return null;
    }

    /** Sees the response headers before they go downstream. */
    default void onResponseHeaders(Http2Headers headers, Context context) {}

    /** What a filter may know about its stream. */
    interface Context {
        StreamInfo info();

        InetSocketAddress remoteAddress();

        /** "http" or "https", as the downstream connection is. */
        String scheme();

        /** The peer's verified SPIFFE ID from its client certificate; empty when it presented none. */
        default java.util.Optional<String> peerPrincipal() {
            return java.util.Optional.empty();
        }

        /**
         * The route the request matches with its current headers (cached after the first call),
         * or {@code null} when none does.
         */
        default RouteMatcher.Match route() {
            return null;
        }

        /**
         * The client address as trusted by the connection manager: the peer, or the entry of
         * {@code x-forwarded-for} chosen by {@code xff_num_trusted_hops}.
         */
        default String clientAddress() {
            String c = info().clientAddress();
            if (c != null) {
                return c;
            }
            return remoteAddress() == null || remoteAddress().getAddress() == null ? "-"
                    : remoteAddress().getAddress().getHostAddress();
        }

        /** The stream's event loop: where a paused filter finishes its work before {@link #resume}. */
        default java.util.concurrent.Executor executor() {
            return Runnable::run;
        }

        /**
         * Continues a chain stopped by {@link #PAUSE}: {@code null} goes on with the next filter, a reply
         * answers locally. Safe to call from any thread; ignored if the stream ended meanwhile.
         */
        default void resume(ErrorResponder.LocalReply reply) {
            throw new IllegalStateException("this context cannot resume a paused filter chain");
        }
    }
}
