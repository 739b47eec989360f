package dev.trellis.sidecar.listener;

import dev.trellis.sidecar.config.HttpConnectionManagerConfig;
import dev.trellis.sidecar.http.HttpConnectionManager;
import dev.trellis.sidecar.internal.FlushBatching;
import dev.trellis.sidecar.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A bound listener. Each accepted connection reads the current {@link ListenerState}; each new
 * stream on it reads the current {@link HttpConnectionManager}, so a reload reaches existing
 * connections without dropping them.
 */
public final class ProxyListener {
    private final AtomicReference<ListenerState> state;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private Channel server;

    public ProxyListener(ListenerState initial, EventLoopGroup boss, EventLoopGroup workers) {
        this.state = new AtomicReference<>(initial);
        this.boss = boss;
        this.workers = workers;
    }

    public String name() {
        return state.get().config().name();
    }

    public ListenerState state() {
        return state.get();
    }

    /** Swaps in a new state; connections and streams in flight keep the one they started with. */
    public void update(ListenerState next) {
        state.set(next);
    }

    /**
     * Binds without accepting yet (so a reload that fails later can close it untouched); blocks the
     * calling (non event loop) thread until bound. {@link #startAccepting()} opens it.
     */
    public InetSocketAddress bind() throws InterruptedException {
        var addr = state.get().config().address();
        ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(Transports.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        initConnection(ch);
                    }
                });
        var f = b.bind(addr.host(), addr.port()).await();
        if (!f.isSuccess()) {
            throw new dev.trellis.sidecar.config.ConfigException("listener '" + name() + "': cannot bind " + addr + ": "
                    + f.cause().getMessage(), f.cause());
        }
        server = f.channel();
        return (InetSocketAddress) server.localAddress();
    }

    /** Starts accepting connections on the bound socket. */
    public void startAccepting() {
        if (server != null) {
            server.config().setAutoRead(true);
        }
    }

    public InetSocketAddress localAddress() {
        return server == null ? null : (InetSocketAddress) server.localAddress();
    }

    public boolean bound() {
        return server != null && server.isActive();
    }

    private void initConnection(Channel ch) {
        ListenerState s = state.get();
        HttpConnectionManagerConfig c = s.config().http();
        Supplier<HttpConnectionManager> hcms = () -> state.get().hcm();
        c.idleTimeout().ifPresent(d -> ch.pipeline().addLast("idle",
                new IdleStateHandler(0, 0, d.toMillis(), TimeUnit.MILLISECONDS)));
        if (s.ssl() != null && s.config().permissive()) {
            ch.pipeline().addLast("sniff", new TlsSniffer(new TlsSniffer.Choice() {
                @Override
                public void tls(ChannelHandlerContext ctx) {
                    tlsPipeline(ctx.pipeline(), s, c, hcms);
                }

                @Override
                public void plaintext(ChannelHandlerContext ctx) {
                    plainPipeline(ctx.pipeline(), c, hcms);
                }
            }));
        } else if (s.ssl() != null) {
            tlsPipeline(ch.pipeline(), s, c, hcms);
        } else {
            plainPipeline(ch.pipeline(), c, hcms);
        }
    }

    private static void tlsPipeline(ChannelPipeline p, ListenerState s, HttpConnectionManagerConfig c,
                                    Supplier<HttpConnectionManager> hcms) {
        p.addLast("tls", s.ssl().newHandler(p.channel().alloc()));
        p.addLast(FlushBatching.NAME, FlushBatching.handler());
        p.addLast("alpn", new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
            @Override
            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                if (ApplicationProtocolNames.HTTP_2.equals(protocol) && c.codecType() != HttpConnectionManagerConfig.CodecType.HTTP1) {
                    HttpCodecs.http2(ctx.pipeline(), c, hcms);
                } else {
                    HttpCodecs.http1(ctx.pipeline(), c, hcms);
                }
            }
        });
    }

    private static void plainPipeline(ChannelPipeline p, HttpConnectionManagerConfig c, Supplier<HttpConnectionManager> hcms) {
        p.addLast(FlushBatching.NAME, FlushBatching.handler());
        switch (c.codecType()) {
            case HTTP1 -> HttpCodecs.http1(p, c, hcms);
            case HTTP2 -> HttpCodecs.http2(p, c, hcms);
            default -> p.addLast("detect", new ProtocolDetector(new ProtocolDetector.Choice() {
                @Override
                public void http1(ChannelHandlerContext ctx) {
                    HttpCodecs.http1(ctx.pipeline(), c, hcms);
                }

                @Override
                public void http2(ChannelHandlerContext ctx) {
                    HttpCodecs.http2(ctx.pipeline(), c, hcms);
                }
            }));
        }
    }

    /** Stops accepting; open connections are left to finish. */
    public void close() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
    }
}
