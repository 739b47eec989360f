package dev.trellis.sidecar.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2Headers;
import java.net.InetSocketAddress;

/** The response direction of one downstream stream, in HTTP/2 terms whatever the wire protocol. */
public interface Downstream {
    EventLoop eventLoop();

    void sendHeaders(Http2Headers headers, boolean endStream);

    /** Takes ownership of {@code data}. */
    void sendData(ByteBuf data, boolean endStream);

    void sendTrailers(Http2Headers trailers);

    /** Aborts the stream: RST_STREAM on HTTP/2, closing the connection on HTTP/1. */
    void reset();

    boolean isWritable();

    /** Pauses or resumes reading the request body (backpressure from the upstream). */
    void setAutoRead(boolean autoRead);

    InetSocketAddress remoteAddress();

    /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
    String protocol();

    /**
     * "https" or "http" as this connection is (a PERMISSIVE listener has both); empty to go by
     * the listener's TLS setting.
     */
    default java.util.Optional<String> scheme() {
        return java.util.Optional.empty();
    }

    /** The peer's verified SPIFFE ID (mTLS client certificate); empty on plaintext or without a certificate. */
    default java.util.Optional<String> peerPrincipal() {
        return java.util.Optional.empty();
    }
}
