package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.cluster.Host;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Headers;

/** The request direction of one upstream stream, in HTTP/2 terms whatever the wire protocol. */
public interface UpstreamStream {
    void writeHeaders(Http2Headers headers, boolean endStream);

    /** Takes ownership of {@code data}. */
    void writeData(ByteBuf data, boolean endStream);

    void writeTrailers(Http2Headers trailers);

    boolean isWritable();

    /** Pauses or resumes reading the response (backpressure from the downstream). */
    void setAutoRead(boolean autoRead);

    /** Aborts the stream (RST_STREAM on HTTP/2, closes the connection on HTTP/1). */
    void reset();

    Host host();

    /** "HTTP/1.1" or "HTTP/2". */
    String protocol();
}
