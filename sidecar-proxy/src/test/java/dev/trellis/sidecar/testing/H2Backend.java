package dev.trellis.sidecar.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Netty HTTP/2 (h2c prior knowledge) backend that can send GOAWAY, for upstream connection
 * handling tests. Every response body is {@code conn=N}, N numbering the connections from 0.
 * {@code /hold} is answered only on {@link #release()} (or reset on {@link #resetHeld()});
 * {@code /goaway} sends GOAWAY with this stream as last-stream-id, then answers; {@code /headers}
 * answers with the request's header fields, one {@code name: value} line each, as received. Answers go out
 * on the request's HEADERS frame; a request body is ignored.
 */
public final class H2Backend implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger closed = new AtomicInteger();
    /** Held streams by connection, as stream ids. */
    public final List<Conn> conns = new CopyOnWriteArrayList<>();

    public H2Backend() throws InterruptedException {
        this(0);
    }

    /** A backend announcing {@code SETTINGS_MAX_CONCURRENT_STREAMS} {@code maxStreams} (0: no limit sent). */
    public H2Backend(int maxStreams) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Conn c = new Conn(connections.getAndIncrement());
                        conns.add(c);
                        Http2FrameCodecBuilder b = Http2FrameCodecBuilder.forServer();
                        if (maxStreams > 0) {
                            b.initialSettings(io.netty.handler.codec.http2.Http2Settings.defaultSettings()
                                    .maxConcurrentStreams(maxStreams));
                        }
                        ch.pipeline().addLast(b.build(), c);
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    public int port() {
        return ((java.net.InetSocketAddress) server.localAddress()).getPort();
    }

    /** Stream ids held on any connection. */
    public int held() {
        return conns.stream().mapToInt(c -> c.held.size()).sum();
    }

    /** Answers every held stream. */
    public void release() {
        for (Conn c : conns) {
            c.ctx.executor().execute(() -> {
                for (Http2FrameStream s : new ArrayList<>(c.held)) {
                    c.answer(s);
                }
                c.held.clear();
            });
        }
    }

    /** Resets every held stream with CANCEL, as a gRPC server does when a call's deadline passes. */
    public void resetHeld() {
        for (Conn c : conns) {
            c.ctx.executor().execute(() -> {
                for (Http2FrameStream s : new ArrayList<>(c.held)) {
                    c.ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL).stream(s));
                }
                c.held.clear();
            });
        }
    }

    /** Sends GOAWAY on connection {@code index} with an explicit last-stream-id. */
    public void goAway(int index, int lastStreamId) {
        Conn c = conns.get(index);
        c.ctx.executor().execute(() -> {
            Http2FrameCodec codec = c.ctx.pipeline().get(Http2FrameCodec.class);
            codec.goAway(c.ctx.pipeline().context(codec), lastStreamId, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER,
                    c.ctx.newPromise());
            c.ctx.flush();
        });
    }

    /** One accepted connection. */
    public final class Conn extends ChannelInboundHandlerAdapter {
        public final int index;
        public final List<Http2FrameStream> held = new CopyOnWriteArrayList<>();
        ChannelHandlerContext ctx;

        Conn(int index) {
            this.index = index;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame h) {
                    String path = String.valueOf(h.headers().path());
                    if (path.startsWith("/hold")) {
                        held.add(h.stream());
                    } else if (path.startsWith("/headers")) {
                        StringBuilder sb = new StringBuilder();
                        h.headers().forEach(e -> sb.append(e.getKey()).append(": ").append(e.getValue()).append('\n'));
                        answer(h.stream(), sb.toString());
                    } else if (path.startsWith("/goaway")) {
                        ctx.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
                        answer(h.stream());
                    } else {
                        answer(h.stream());
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        void answer(Http2FrameStream s) {
            answer(s, "conn=" + index);
        }

        void answer(Http2FrameStream s, String body) {
            ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")).stream(s));
            ctx.writeAndFlush(new DefaultHttp2DataFrame(ByteBufUtil.writeAscii(ctx.alloc(), body), true).stream(s));
        }

        /** Stream ids of the held streams. */
        public List<Integer> heldIds() {
            return held.stream().map(Http2FrameStream::id).toList();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed.incrementAndGet();
            ctx.fireChannelInactive();
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }
}
