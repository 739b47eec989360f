package dev.trellis.sidecar.listener;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * PERMISSIVE mTLS on one port (Envoy's {@code tls_inspector}): peeks at the first bytes of a
 * connection; a TLS ClientHello record (content type 22, version 3.x, handshake type 1) gets the
 * TLS pipeline, anything else the plaintext one. It then removes itself; the bytes read so far go
 * on to what it installed.
 */
final class TlsSniffer extends ByteToMessageDecoder {
    /** Record header (5) plus the handshake type. */
    static final int NEEDED = 6;

    /** What to install once the transport is known. */
    interface Choice {
        void tls(ChannelHandlerContext ctx);

        void plaintext(ChannelHandlerContext ctx);
    }

    private final Choice choice;

    TlsSniffer(Choice choice) {
        this.choice = choice;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        int r = in.readerIndex();
        if (in.getUnsignedByte(r) != 22) {
            // no HTTP request or HTTP/2 preface starts with 0x16: decided on the first byte
            choice.plaintext(ctx);
        } else if (in.readableBytes() < NEEDED) {
            return;
        } else if (in.getUnsignedByte(r + 1) == 3 && in.getUnsignedByte(r + 5) == 1) {
            choice.tls(ctx);
        } else {
            choice.plaintext(ctx);
        }
        ctx.pipeline().remove(this);
    }
}
