package dev.trellis.sidecar.testing;

import dev.trellis.sidecar.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real Netty HTTP/1.1 backend whose misbehaviour tests switch at run time: a delay before each
 * answer (never blocking its event loop), failing its first N requests with a status, answering
 * every request with a status, resetting the connection instead of answering, and dying.
 * Answers {@code 200} with its name as body and {@code x-backend} header otherwise.
 */
public final class FlakyBackend implements AutoCloseable {
    public final String name;
    public final AtomicInteger requests = new AtomicInteger();
    public final AtomicLong delayMs = new AtomicLong();
    /** Requests still to fail with {@link #failStatus}. */
    public final AtomicInteger failFirst = new AtomicInteger();
    public final AtomicInteger failStatus = new AtomicInteger(503);
    /** When non-zero, every request is answered with this status. */
    public final AtomicInteger alwaysStatus = new AtomicInteger();
    /** Requests still to answer by closing the connection. */
    public final AtomicInteger resetFirst = new AtomicInteger();
    /** Values of {@code x-trellis-attempt} seen, in order. */
    public final List<String> attempts = new CopyOnWriteArrayList<>();
    /** Request headers and body size of each request, in order. */
    public final List<io.netty.handler.codec.http.HttpHeaders> headers = new CopyOnWriteArrayList<>();
    public final List<Integer> bodySizes = new CopyOnWriteArrayList<>();
    /** {@code System.nanoTime()} at each request's arrival. */
    public final List<Long> arrivals = new CopyOnWriteArrayList<>();
    /** Extra response headers (e.g. a gRPC status). */
    public final List<String[]> extraHeaders = new CopyOnWriteArrayList<>();
    private final EventLoopGroup group;
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Channel server;

    public FlakyBackend(String name) throws InterruptedException {
        this(name, 0);
    }

    /** Listens on {@code port} (0 for any). */
    public FlakyBackend(String name, int port) throws InterruptedException {
        this.name = name;
        this.group = Transports.group(1, "backend-" + name);
        server = new ServerBootstrap().group(group).channel(Transports.serverChannel())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new Handler());
                    }
                }).bind("127.0.0.1", port).sync().channel();
        channels.add(server);
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            requests.incrementAndGet();
            arrivals.add(System.nanoTime());
            headers.add(req.headers().copy());
            bodySizes.add(req.content().readableBytes());
            String attempt = req.headers().get("x-trellis-attempt");
            if (attempt != null) {
                attempts.add(attempt);
            }
            if (resetFirst.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                ctx.close();
                return;
            }
            int status = alwaysStatus.get() != 0 ? alwaysStatus.get()
                    : failFirst.getAndUpdate(n -> Math.max(0, n - 1)) > 0 ? failStatus.get() : 200;
            long delay = delayMs.get();
            if (delay > 0) {
                ctx.executor().schedule(() -> answer(ctx, status), delay, TimeUnit.MILLISECONDS);
            } else {
                answer(ctx, status);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private void answer(ChannelHandlerContext ctx, int status) {
        if (!ctx.channel().isActive()) {
            return;
        }
        byte[] body = name.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(body));
        r.headers().set("x-backend", name).setInt("content-length", body.length);
        for (String[] h : extraHeaders) {
            r.headers().add(h[0], h[1]);
        }
        ctx.writeAndFlush(r);
    }

    /** Stops listening and drops every open connection at once. */
    public void kill() {
        channels.close().awaitUninterruptibly();
    }

    @Override
    public void close() {
        kill();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
