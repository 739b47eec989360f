package dev.trellis.sidecar.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TransportsTest {
    static boolean linux() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        return os.contains("linux") && (arch.equals("amd64") || arch.equals("aarch64"));
    }

    @Test
    void autoPrefersIoUringThenEpollAndLinuxHasAtLeastEpoll() {
        assertThat(Transports.Kind.values()).startsWith(Transports.Kind.IO_URING, Transports.Kind.EPOLL);
        Transports.Kind first = Arrays.stream(Transports.Kind.values()).filter(Transports.Kind::available).findFirst().orElseThrow();
        assertThat(Transports.choose("auto")).isEqualTo(first);
        assumeTrue(linux(), "epoll is Linux only");
        assertThat(Epoll.isAvailable()).as(String.valueOf(Epoll.unavailabilityCause())).isTrue();
        assertThat(first).isIn(Transports.Kind.IO_URING, Transports.Kind.EPOLL);
    }

    @Test
    void aNamedTransportIsTakenAndAnUnknownOneIsRefused() {
        assertThat(Transports.choose(" nio ")).isEqualTo(Transports.Kind.NIO);
        assertThatThrownBy(() -> Transports.choose("kqueue"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("trellis.transport: 'kqueue' (expected: auto, io_uring, epoll, nio)");
        for (Transports.Kind k : Transports.Kind.values()) {
            if (!k.available()) {
                assertThatThrownBy(() -> Transports.choose(k.id())).hasMessageStartingWith("trellis.transport: '" + k.id() + "' cannot be used here (");
            }
        }
    }

    /** Each transport that loads here carries bytes both ways between a real server and client socket. */
    @ParameterizedTest
    @EnumSource(Transports.Kind.class)
    void eachAvailableTransportEchoesOverLoopback(Transports.Kind kind) throws Exception {
        assumeTrue(kind.available(), kind.id() + " does not load here");
        EventLoopGroup group = kind.group(1, "transports-test-" + kind.id());
        try {
            Channel server = new ServerBootstrap().group(group).channel(kind.serverChannel())
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ctx.writeAndFlush(msg);
                        }
                    }).bind("127.0.0.1", 0).sync().channel();
            CompletableFuture<String> echoed = new CompletableFuture<>();
            Channel client = new Bootstrap().group(group).channel(kind.channel())
                    .handler(new SimpleChannelInboundHandler<ByteBuf>() {
                        final StringBuilder got = new StringBuilder();

                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf b) {
                            got.append(b.toString(StandardCharsets.US_ASCII));
                            if (got.length() >= 5) {
                                echoed.complete(got.toString());
                            }
                        }
                    }).connect((InetSocketAddress) server.localAddress()).sync().channel();
            client.writeAndFlush(Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII));
            assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("hello");
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
