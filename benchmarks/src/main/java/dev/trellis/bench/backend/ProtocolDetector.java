package dev.trellis.bench.backend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import java.util.List;

/**
 * Looks at a connection's first bytes: the HTTP/2 connection preface means h2c with prior
 * knowledge, anything else HTTP/1.1. Then it installs the matching pipeline and steps aside,
 * handing on the bytes it has read.
 */
final class ProtocolDetector extends ByteToMessageDecoder {
    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();
    private final int maxBody;

    ProtocolDetector(int maxBody) {
        this.maxBody = maxBody;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
        boolean prefix = ByteBufUtil.equals(in, in.readerIndex(), PREFACE, PREFACE.readerIndex(), n);
        if (prefix && n < PREFACE.readableBytes()) {
            return; // could still be HTTP/2: wait for the rest of the preface
        }
        ChannelPipeline p = ctx.pipeline();
        if (prefix) {
            p.addAfter(ctx.name(), "h2-echo", new H2EchoHandler(maxBody));
            p.addAfter(ctx.name(), "h2", Http2FrameCodecBuilder.forServer().build());
        } else {
            p.addAfter(ctx.name(), "h1-echo", new Http1EchoHandler());
            p.addAfter(ctx.name(), "h1-aggregator", new HttpObjectAggregator(maxBody));
            p.addAfter(ctx.name(), "h1", new HttpServerCodec());
        }
        p.remove(this);
    }
}
