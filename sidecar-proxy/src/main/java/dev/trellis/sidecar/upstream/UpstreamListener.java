package dev.trellis.sidecar.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Headers;

/** Receives what an upstream sends back on one stream. Called on the stream's event loop. */
public interface UpstreamListener {
    void onHeaders(Http2Headers headers, boolean endStream);

    /** Takes ownership of {@code data}. */
    void onData(ByteBuf data, boolean endStream);

    void onTrailers(Http2Headers trailers);

    /** The upstream stream or connection ended abnormally. */
    void onReset(String reason);

    /** The upstream can take more request body (or not). */
    void onWritabilityChanged(boolean writable);
}
