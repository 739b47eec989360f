package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.StreamInfo;
import io.netty.handler.codec.http2.Http2Headers;
import java.net.InetSocketAddress;

/** One filter instance for one stream. */
public interface HttpFilter {
    /**
     * Sees (and may change) the request headers before routing. Returns {@code null} to go on,
     * or a reply to answer locally and stop.
     */
    ErrorResponder.LocalReply onRequestHeaders(Http2Headers headers, Context context);

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
    }
}
