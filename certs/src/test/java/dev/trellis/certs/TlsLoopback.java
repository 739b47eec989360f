package dev.trellis.certs;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.net.ssl.SSLSession;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;

/** A TLS echo server and clients over loopback Netty channels (port 0), reporting handshake outcomes. */
final class TlsLoopback implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    /** How a handshake ended on one side. */
    record Outcome(Throwable cause, Optional<SpiffeId> peer, String alpn, String protocol, X509Certificate peerLeaf) {
        boolean success() {
            return cause == null;
        }

        SvidValidationException refusal() {
            return SvidValidationException.find(cause).orElseThrow(() -> new AssertionError(
                    "handshake failure without an SVID refusal in its causes", cause));
        }
    }

    final class Server implements AutoCloseable {
        final Channel channel;
        final BlockingQueue<Outcome> outcomes = new LinkedBlockingQueue<>();

        Server(Supplier<SslContext> context) throws InterruptedException {
            channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(context.get().newHandler(ch.alloc()));
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                    if (evt instanceof SslHandshakeCompletionEvent e) {
                                        outcomes.add(TlsLoopback.outcome(ctx.channel(), e.cause()));
                                    }
                                    ctx.fireUserEventTriggered(evt);
                                }

                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ctx.writeAndFlush(msg); // echo
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    ctx.close();
                                }
                            });
                        }
                    }).bind("127.0.0.1", 0).sync().channel();
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        Outcome nextOutcome() throws InterruptedException {
            Outcome o = outcomes.poll(10, TimeUnit.SECONDS);
            if (o == null) {
                throw new AssertionError("server saw no handshake within 10 s");
            }
            return o;
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    final class Client implements AutoCloseable {
        final Channel channel;
        final CompletableFuture<Outcome> handshake = new CompletableFuture<>();
        private final BlockingQueue<String> received = new LinkedBlockingQueue<>();

        Client(SslContext context, int port) throws InterruptedException {
            channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            SslHandler ssl = context.newHandler(ch.alloc(), "127.0.0.1", port);
                            ch.pipeline().addLast(ssl);
                            ssl.handshakeFuture().addListener(f -> handshake.complete(TlsLoopback.outcome(ch, f.cause())));
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    try {
                                        received.add(((ByteBuf) msg).toString(StandardCharsets.UTF_8));
                                    } finally {
                                        ReferenceCountUtil.release(msg);
                                    }
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    ctx.close();
                                }
                            });
                        }
                    }).connect("127.0.0.1", port).sync().channel();
        }

        Outcome outcome() throws Exception {
            return handshake.get(10, TimeUnit.SECONDS);
        }

        /** Sends {@code text} and waits for the server to echo it back. */
        String echo(String text) throws InterruptedException {
            channel.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sb.length() < text.length() && System.nanoTime() < deadline) {
                String chunk = received.poll(100, TimeUnit.MILLISECONDS);
                if (chunk != null) {
                    sb.append(chunk);
                }
            }
            return sb.toString();
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    Server server(Supplier<SslContext> context) throws InterruptedException {
        return new Server(context);
    }

    Server server(SslContext context) throws InterruptedException {
        return new Server(() -> context);
    }

    Client connect(SslContext context, Server server) throws InterruptedException {
        return new Client(context, server.port());
    }

    private static Outcome outcome(Channel ch, Throwable cause) {
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        if (cause != null || ssl == null) {
            return new Outcome(cause, Optional.empty(), null, null, null);
        }
        SSLSession session = ssl.engine().getSession();
        X509Certificate leaf = null;
        try {
            leaf = (X509Certificate) session.getPeerCertificates()[0];
        } catch (Exception e) {
            // no peer certificate (permissive server, client without certificate)
        }
        return new Outcome(null, PeerIdentity.of(ch), ssl.applicationProtocol(), session.getProtocol(), leaf);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
