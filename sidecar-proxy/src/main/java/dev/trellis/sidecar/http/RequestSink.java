package dev.trellis.sidecar.http;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Headers;

/** Where the rest of a routed request goes (the router's upstream request). */
public interface RequestSink {
    /** Takes ownership of {@code data}. */
    void data(ByteBuf data, boolean endStream);

    void trailers(Http2Headers trailers);

    /** The downstream went away: stop everything. */
    void cancel();

    /** The downstream can take more response body (or not). */
    void downstreamWritable(boolean writable);
}
