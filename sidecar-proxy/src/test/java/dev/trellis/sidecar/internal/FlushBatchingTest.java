package dev.trellis.sidecar.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Flushes of one event-loop turn reach the socket as one flush, and none is lost or held beyond
 * the turn. The out-of-read cases use a real loopback connection: EmbeddedChannel runs pending
 * tasks on every flush, so it cannot show a turn.
 */
class FlushBatchingTest {
    /** Counts the flushes that get past the batching handler (as the socket sees them). */
    private static final class FlushCounter extends ChannelOutboundHandlerAdapter {
        volatile int flushes;

        @Override
        public void flush(ChannelHandlerContext ctx) {
            flushes++;
            ctx.flush();
        }
    }

    /** Collects the bytes the server side receives until the expected count arrived. */
    private static final class Sink extends ChannelInboundHandlerAdapter {
        final StringBuilder received = new StringBuilder();
        final int expected;
        final CompletableFuture<String> done = new CompletableFuture<>();

        Sink(int expected) {
            this.expected = expected;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            received.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
            if (received.length() >= expected) {
                done.complete(received.toString());
            }
        }
    }

    private EventLoopGroup group;
    private Channel server;

    @BeforeEach
    void start() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close().sync();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** A client connection with the batching handler over a flush counter, to a server feeding sink. */
    private Channel connect(FlushCounter socket, Sink sink) throws Exception {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(sink)
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(socket, FlushBatching.handler());
                    }
                })
                .connect(server.localAddress()).sync().channel();
    }

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static List<String> written(EmbeddedChannel ch) {
        List<String> out = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.add(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return out;
    }

    @Test
    void headAndBodyWrittenFromAnotherConnectionGoOutInOneFlushAfterTheTurn() throws Exception {
        FlushCounter socket = new FlushCounter();
        Sink sink = new Sink("headbody".length());
        Channel ch = connect(socket, sink);
        int duringTurn = ch.eventLoop().submit(() -> {
            ch.writeAndFlush(text("head"));
            ch.writeAndFlush(text("body"));
            return socket.flushes;
        }).get(5, TimeUnit.SECONDS);
        assertThat(duringTurn).as("flushes reaching the socket during the turn").isZero();
        assertThat(sink.done.get(5, TimeUnit.SECONDS)).isEqualTo("headbody");
        assertThat(ch.eventLoop().submit(() -> socket.flushes).get(5, TimeUnit.SECONDS)).isEqualTo(1);
        ch.close().sync();
    }

    @Test
    void manyFlushesInOneTurnAreWrittenAsTheyGo() throws Exception {
        FlushCounter socket = new FlushCounter();
        int n = FlushBatching.MAX_DEFERRED_FLUSHES;
        Sink sink = new Sink(n);
        Channel ch = connect(socket, sink);
        int duringTurn = ch.eventLoop().submit(() -> {
            for (int i = 0; i < n; i++) {
                ch.writeAndFlush(text("x"));
            }
            return socket.flushes;
        }).get(5, TimeUnit.SECONDS);
        assertThat(duringTurn).as("the %dth flush goes through at once", n).isEqualTo(1);
        assertThat(sink.done.get(5, TimeUnit.SECONDS)).isEqualTo("x".repeat(n));
        assertThat(ch.eventLoop().submit(() -> socket.flushes).get(5, TimeUnit.SECONDS)).isEqualTo(1);
        ch.close().sync();
    }

    @Test
    void writesDuringTheConnectionsOwnReadAreFlushedAtReadComplete() {
        FlushCounter socket = new FlushCounter();
        EmbeddedChannel ch = new EmbeddedChannel(socket, FlushBatching.handler());
        ch.pipeline().fireChannelRead("request");
        ch.writeAndFlush(text("reply"));
        ch.writeAndFlush(text("more"));
        assertThat(socket.flushes).isZero();
        ch.pipeline().fireChannelReadComplete();
        assertThat(socket.flushes).isEqualTo(1);
        assertThat(written(ch)).containsExactly("reply", "more");
        ch.finishAndReleaseAll();
    }

    @Test
    void closingFlushesWhatIsPending() {
        FlushCounter socket = new FlushCounter();
        EmbeddedChannel ch = new EmbeddedChannel(socket, FlushBatching.handler());
        ch.pipeline().fireChannelRead("request");
        ch.writeAndFlush(text("last"));
        assertThat(socket.flushes).isZero();
        ch.close();
        assertThat(socket.flushes).isEqualTo(1);
        assertThat(written(ch)).containsExactly("last");
        ch.finishAndReleaseAll();
    }
}
