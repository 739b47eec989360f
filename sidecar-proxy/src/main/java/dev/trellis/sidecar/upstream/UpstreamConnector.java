package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.internal.FlushBatching;
import dev.trellis.sidecar.internal.SslContexts;
import dev.trellis.sidecar.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Promise;
import java.security.cert.X509Certificate;
import java.util.function.Consumer;
import javax.net.ssl.SSLPeerUnverifiedException;

/** Opens a TCP (and optionally TLS) connection to a host on a given event loop. */
final class UpstreamConnector {
    private UpstreamConnector() {}

    /**
     * Connects; {@code promise} succeeds with the channel once TCP and TLS (with SAN check) are up.
     * {@code init} adds the protocol handlers.
     */
    static void connect(EventLoop loop, Host host, ClusterConfig cluster, SslContext ssl,
                        Consumer<Channel> init, Promise<Channel> promise) {
        int limit = cluster.perConnectionBufferLimitBytes();
        Bootstrap b = new Bootstrap().group(loop).channel(Transports.channel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, cluster.connectTimeout().toMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(Math.max(1, limit / 2), limit))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (ssl != null) {
                            String sni = cluster.tls().flatMap(t -> t.sni()).orElse(null);
                            SslHandler h = sni != null ? ssl.newHandler(ch.alloc(), sni, host.address().getPort())
                                    : ssl.newHandler(ch.alloc(), host.address().getHostString(), host.address().getPort());
                            ch.pipeline().addLast("ssl", h);
                        }
                        ch.pipeline().addLast(FlushBatching.NAME, FlushBatching.handler());
                        init.accept(ch);
                    }
                });
        b.connect(host.address()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                host.countConnectFailure();
                promise.tryFailure(f.cause());
                return;
            }
            Channel ch = f.channel();
            host.connections().incrementAndGet();
            ch.closeFuture().addListener(c -> host.connections().decrementAndGet());
            SslHandler sh = ch.pipeline().get(SslHandler.class);
            if (sh == null) {
                promise.trySuccess(ch);
                return;
            }
            sh.handshakeFuture().addListener(h -> {
                if (!h.isSuccess()) {
                    host.countConnectFailure();
                    ch.close();
                    promise.tryFailure(h.cause());
                    return;
                }
                var sans = cluster.tls().get().matchSubjectAltNames();
                try {
                    X509Certificate peer = (X509Certificate) sh.engine().getSession().getPeerCertificates()[0];
                    if (!SslContexts.sanMatches(peer, sans)) {
                        ch.close();
                        promise.tryFailure(new SSLPeerUnverifiedException("upstream certificate SANs do not match "
                                + sans));
                        return;
                    }
                } catch (SSLPeerUnverifiedException e) {
                    ch.close();
                    promise.tryFailure(e);
                    return;
                }
                promise.trySuccess(ch);
            });
        });
    }

    static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
