package dev.trellis.sidecar.listener;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import java.util.List;

/**
 * Tells HTTP/2 prior knowledge (h2c) from HTTP/1.1 on a plaintext port by the client preface,
 * then replaces itself with the right codec; bytes read so far go on to it.
 */
final class ProtocolDetector extends ByteToMessageDecoder {
    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf().asReadOnly();

    /** What to install once the protocol is known. */
    interface Choice {
        void http1(ChannelHandlerContext ctx);

        void http2(ChannelHandlerContext ctx);
    }

    private final Choice choice;

    ProtocolDetector(Choice choice) {
        this.choice = choice;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
        boolean prefix = io.netty.buffer.ByteBufUtil.equals(in, in.readerIndex(), PREFACE, PREFACE.readerIndex(), n);
        if (!prefix) {
            choice.http1(ctx);
            ctx.pipeline().remove(this);
        } else if (n == PREFACE.readableBytes()) {
            choice.http2(ctx);
            ctx.pipeline().remove(this);
        }
    }
}
