package dev.trellis.bench.backend;

import dev.trellis.bench.load.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;

/**
 * The benchmark's backend: answers every request with its own body, on one port, over HTTP/1.1,
 * HTTP/2 cleartext (prior knowledge) and gRPC ({@code trellis.bench.v1.Echo/Echo}, whose response
 * message is the request message). It does as little as a server can so that what the figures
 * show is the path in front of it.
 */
public final class EchoServer implements AutoCloseable {
    /** Largest request body accepted (413 or RESOURCE_EXHAUSTED beyond). */
    public static final int MAX_BODY = 16 << 20;

    private final Channel channel;

    private EchoServer(Channel channel) {
        this.channel = channel;
    }

    /** Binds {@code address} (port 0 for any) on {@code group}. */
    public static EchoServer start(EventLoopGroup group, InetSocketAddress address) throws InterruptedException {
        Channel ch = new ServerBootstrap()
                .group(group)
                .channel(Transports.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel c) {
                        c.pipeline().addLast(connectionHandler());
                    }
                })
                .bind(address).sync().channel();
        return new EchoServer(ch);
    }

    /**
     * The handler an accepted connection starts with: it detects HTTP/1.1 or h2c and installs the
     * echo pipeline. Public so microbenchmarks can drive the backend on an {@code EmbeddedChannel}.
     */
    public static ChannelHandler connectionHandler() {
        return new ProtocolDetector(MAX_BODY);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
