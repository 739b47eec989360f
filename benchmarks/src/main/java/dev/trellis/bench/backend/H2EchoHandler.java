package dev.trellis.bench.backend;

import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.util.HashMap;
import java.util.Map;

/**
 * Echoes HTTP/2 streams on the connection's {@code Http2FrameCodec}. A stream whose
 * {@code content-type} starts with {@code application/grpc} is answered as gRPC: the body (one
 * length-prefixed message) is sent back as is, then trailers with {@code grpc-status: 0}. Any
 * other stream gets 200 and its body. Bodies are held per stream up to {@code maxBody}.
 */
final class H2EchoHandler extends ChannelInboundHandlerAdapter {
    private static final AsciiString GRPC = AsciiString.of("application/grpc");
    private static final AsciiString OCTET_STREAM = AsciiString.of("application/octet-stream");

    private final int maxBody;
    private final Map<Http2FrameStream, Body> bodies = new HashMap<>();

    private static final class Body {
        final boolean grpc;
        CompositeByteBuf bytes;
        boolean tooLarge;

        Body(boolean grpc) {
            this.grpc = grpc;
        }

        int size() {
            return bytes == null ? 0 : bytes.readableBytes();
        }
    }

    H2EchoHandler(int maxBody) {
        this.maxBody = maxBody;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (!(msg instanceof Http2StreamFrame)) {
                return;
            }
            Http2FrameStream stream = ((Http2StreamFrame) msg).stream();
            if (msg instanceof Http2HeadersFrame) {
                Http2HeadersFrame h = (Http2HeadersFrame) msg;
                Body body = bodies.get(stream);
                if (body == null) {
                    CharSequence type = h.headers().get("content-type");
                    body = new Body(type != null && AsciiString.of(type).startsWith(GRPC));
                    bodies.put(stream, body);
                }
                if (h.isEndStream()) {
                    respond(ctx, stream);
                }
            } else if (msg instanceof Http2DataFrame) {
                Http2DataFrame d = (Http2DataFrame) msg;
                Body body = bodies.get(stream);
                if (d.initialFlowControlledBytes() > 0) {
                    ctx.write(new DefaultHttp2WindowUpdateFrame(d.initialFlowControlledBytes()).stream(stream));
                }
                if (body == null) {
                    return;
                }
                if (!body.tooLarge && d.content().isReadable()) {
                    if (body.size() + d.content().readableBytes() > maxBody) {
                        body.tooLarge = true;
                        release(body);
                    } else {
                        if (body.bytes == null) {
                            body.bytes = ctx.alloc().compositeBuffer();
                        }
                        body.bytes.addComponent(true, d.content().retain());
                    }
                }
                if (d.isEndStream()) {
                    respond(ctx, stream);
                }
            } else if (msg instanceof Http2ResetFrame) {
                Body body = bodies.remove(stream);
                if (body != null) {
                    release(body);
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void respond(ChannelHandlerContext ctx, Http2FrameStream stream) {
        Body body = bodies.remove(stream);
        if (body.tooLarge) {
            Http2Headers h = new DefaultHttp2Headers();
            if (body.grpc) {
                h.status("200").set("content-type", GRPC).setInt("grpc-status", 8)
                        .set("grpc-message", "request larger than " + maxBody + " bytes");
            } else {
                h.status("413").setInt("content-length", 0);
            }
            ctx.write(new DefaultHttp2HeadersFrame(h, true).stream(stream));
            return;
        }
        Http2Headers h = new DefaultHttp2Headers().status("200");
        boolean hasBody = body.size() > 0;
        if (body.grpc) {
            h.set("content-type", GRPC);
        } else {
            h.set("content-type", OCTET_STREAM).setInt("content-length", body.size());
        }
        ctx.write(new DefaultHttp2HeadersFrame(h, !body.grpc && !hasBody).stream(stream));
        if (hasBody) {
            ctx.write(new DefaultHttp2DataFrame(body.bytes, !body.grpc).stream(stream));
        } else if (body.bytes != null) {
            body.bytes.release();
        }
        if (body.grpc) {
            ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().setInt("grpc-status", 0), true)
                    .stream(stream));
        }
    }

    private static void release(Body body) {
        if (body.bytes != null) {
            body.bytes.release();
            body.bytes = null;
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.flush();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseAll();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseAll();
    }

    private void releaseAll() {
        bodies.values().forEach(H2EchoHandler::release);
        bodies.clear();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
