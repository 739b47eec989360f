package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.cluster.ResourceManager;
import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.error.ResponseFlag;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * HTTP/2 connections to one host on one event loop. Streams go to a connection with room under
 * the peer's {@code SETTINGS_MAX_CONCURRENT_STREAMS}; a new connection opens only when all are
 * full. A connection that got GOAWAY takes no new streams: those below its last-stream-id finish
 * on it, it closes once they have, and new streams go to another connection.
 */
final class Http2ConnectionPool implements ConnectionPool {
    /** Streams assumed allowed before the peer's SETTINGS arrive. */
    static final int ASSUMED_MAX_STREAMS = 100;

    private final EventLoop loop;
    private final Host host;
    private final ClusterConfig cluster;
    private final SslContext ssl;
    private final ResourceManager resources;
    private final List<Conn> conns = new ArrayList<>();
    private boolean draining;

    private record Waiter(UpstreamListener listener, Callback callback) {}

    /** One multiplexed connection and its stream accounting. */
    final class Conn extends ChannelInboundHandlerAdapter {
        Channel channel;
        boolean ready;
        boolean goingAway;
        int active;
        long maxStreams = ASSUMED_MAX_STREAMS;
        final ArrayDeque<Waiter> waiting = new ArrayDeque<>();

        boolean hasRoom() {
            return !goingAway && active + waiting.size() < maxStreams;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2SettingsFrame s) {
                Long max = s.settings().maxConcurrentStreams();
                maxStreams = max == null ? Integer.MAX_VALUE : max;
                if (!ready) {
                    ready = true;
                    dispatch(this);
                }
            } else if (msg instanceof Http2GoAwayFrame) {
                goingAway = true;
                if (!ready) {
                    dispatch(this);
                }
                closeIfDone(this);
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    Http2ConnectionPool(EventLoop loop, Host host, ClusterConfig cluster, SslContext ssl, ResourceManager resources) {
        this.resources = resources;
        this.loop = loop;
        this.host = host;
        this.cluster = cluster;
        this.ssl = ssl;
    }

    @Override
    public void newStream(UpstreamListener listener, Callback callback) {
        Waiter w = new Waiter(listener, callback);
        for (Conn c : conns) {
            if (c.ready && c.hasRoom()) {
                open(c, w);
                return;
            }
        }
        for (Conn c : conns) {
            if (!c.ready && c.hasRoom()) {
                c.waiting.add(w);
                return;
            }
        }
        if (conns.size() >= cluster.maxConnectionsPerEndpoint() || !resources.tryAcquireConnection()) {
            callback.onFailure(ResponseFlag.UO, "upstream overflow: cluster '" + cluster.name() + "' has "
                    + resources.connections().open() + " connections (max_connections "
                    + resources.config().maxConnections() + ")");
            return;
        }
        Conn c = new Conn();
        c.waiting.add(w);
        conns.add(c);
        Promise<Channel> p = loop.newPromise();
        UpstreamConnector.connect(loop, host, cluster, ssl, ch -> {
            c.channel = ch;
            ch.pipeline().addLast("h2", Http2FrameCodecBuilder.forClient().validateHeaders(false).build());
            ch.pipeline().addLast("mux", new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
            ch.pipeline().addLast("conn", c);
        }, p);
        p.addListener(f -> {
            if (!f.isSuccess()) {
                resources.connections().release();
                conns.remove(c);
                String why = "upstream connect error: " + UpstreamConnector.describe(f.cause());
                Waiter x;
                while ((x = c.waiting.poll()) != null) {
                    x.callback.onFailure(ResponseFlag.UF, why);
                }
                return;
            }
            c.channel.closeFuture().addListener(cf -> {
                resources.connections().release();
                conns.remove(c);
                Waiter x;
                while ((x = c.waiting.poll()) != null) {
                    x.callback.onFailure(ResponseFlag.UC, "upstream connection closed before the stream opened");
                }
            });
        });
    }

    private void dispatch(Conn c) {
        while (!c.waiting.isEmpty() && c.active < c.maxStreams && !c.goingAway) {
            open(c, c.waiting.poll());
        }
        // whatever does not fit goes through the pool again, which may open a new connection
        List<Waiter> rest = new ArrayList<>(c.waiting);
        c.waiting.clear();
        for (Waiter w : rest) {
            newStream(w.listener, w.callback);
        }
    }

    private void open(Conn c, Waiter w) {
        c.active++;
        Http2UpstreamStream stream = new Http2UpstreamStream(host, w.listener);
        Future<Http2StreamChannel> f = new Http2StreamChannelBootstrap(c.channel).handler(stream).open();
        f.addListener(x -> {
            if (!x.isSuccess()) {
                c.active--;
                w.callback.onFailure(ResponseFlag.UC, "cannot open upstream stream: " + UpstreamConnector.describe(x.cause()));
                return;
            }
            Http2StreamChannel sc = f.getNow();
            sc.closeFuture().addListener(cf -> {
                c.active--;
                closeIfDone(c);
            });
            w.callback.onReady(stream);
        });
    }

    /** A connection that takes no new streams closes when its last one ends. */
    private void closeIfDone(Conn c) {
        if ((draining || c.goingAway) && c.active == 0 && c.waiting.isEmpty() && c.channel != null) {
            c.channel.close();
        }
    }

    @Override
    public int connections() {
        return conns.size();
    }

    @Override
    public void drain() {
        loop.execute(() -> {
            draining = true;
            for (Conn c : new ArrayList<>(conns)) {
                c.goingAway = true;
                closeIfDone(c);
            }
        });
    }
}
