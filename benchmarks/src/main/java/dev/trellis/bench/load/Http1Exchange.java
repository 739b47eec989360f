package dev.trellis.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;

/**
 * HTTP/1.1 keep-alive client connection with one request in flight. The request is encoded once and
 * written as bytes each time (as wrk does), so the generator spends its CPU on the network, not on
 * encoding. Reconnects when the server closes the connection.
 */
final class Http1Exchange implements Exchange {
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final ByteBuf request;
    private Channel channel;
    private Completion pending;
    private int status;
    private boolean closed;

    Http1Exchange(EventLoop loop, InetSocketAddress target, byte[] payload) {
        this.loop = loop;
        this.request = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(encodeRequest(target, payload)).asReadOnly());
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(Transports.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .remoteAddress(target)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpResponseDecoder(), new ResponseHandler());
                    }
                });
    }

    /** {@code POST /echo} with the payload, as it goes on the wire. */
    static byte[] encodeRequest(InetSocketAddress target, byte[] payload) {
        String head = "POST /echo HTTP/1.1\r\n"
                + "Host: " + target.getHostString() + ":" + target.getPort() + "\r\n"
                + "Content-Type: application/octet-stream\r\n"
                + "Content-Length: " + payload.length + "\r\n"
                + "\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[h.length + payload.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(payload, 0, all, h.length, payload.length);
        return all;
    }

    @Override
    public void send(Completion done) {
        if (pending != null) {
            done.complete("HTTP/1.1 connection busy");
            return;
        }
        pending = done;
        if (channel != null && channel.isActive()) {
            write();
            return;
        }
        if (closed) {
            fail("exchange closed");
            return;
        }
        ChannelFuture f = bootstrap.connect();
        channel = f.channel();
        f.addListener(r -> {
            if (r.isSuccess()) {
                write();
            } else {
                fail("connect failed: " + r.cause().getMessage());
            }
        });
    }

    private void write() {
        status = 0;
        channel.writeAndFlush(request.duplicate()).addListener(r -> {
            if (!r.isSuccess()) {
                fail("write failed: " + r.cause().getMessage());
            }
        });
    }

    private void fail(String error) {
        Completion c = pending;
        pending = null;
        if (c != null) {
            c.complete(error);
        }
    }

    @Override
    public Executor executor() {
        return loop;
    }

    @Override
    public int maxConcurrency() {
        return 1;
    }

    @Override
    public void close() {
        closed = true;
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    private final class ResponseHandler extends ChannelInboundHandlerAdapter {
        private boolean keepAlive = true;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpResponse) {
                    HttpResponse r = (HttpResponse) msg;
                    status = r.status().code();
                    keepAlive = HttpUtil.isKeepAlive(r);
                    if (r.decoderResult().isFailure()) {
                        fail("bad response: " + r.decoderResult().cause().getMessage());
                        ctx.close();
                        return;
                    }
                }
                if (msg instanceof LastHttpContent) {
                    Completion c = pending;
                    pending = null;
                    if (!keepAlive) {
                        ctx.close();
                    }
                    if (c != null) {
                        c.complete(status == 200 ? null : "HTTP " + status);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // a replaced connection's late close must not fail the request on its successor
            if (ctx.channel() == channel) {
                fail("connection closed");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
