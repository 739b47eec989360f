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
 * full. When every connection is full and no new one may open ({@code max_connections} or the
 * per-endpoint bound), a request waits in the pool, bounded by {@code max_pending_requests}, until
 * a stream ends or a connection slot frees up; beyond that bound it fails at once with UO. A
 * connection that got GOAWAY takes no new streams: those below its last-stream-id finish on it, it
 * closes once they have, and new streams go to another connection.
 */
final class Http2ConnectionPool implements ConnectionPool {
    /** Streams assumed allowed before the peer's SETTINGS arrive. */
    static final int ASSUMED_MAX_STREAMS = 100;

    private final EventLoop loop;
    private final Host host;
    private final ClusterConfig cluster;
    private final SslContext ssl;
    private final ResourceManager resources;
    /** Copy-on-write: gauges read it from other threads; it changes only when a connection opens or closes. */
    private final List<Conn> conns = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Requests waiting because no connection has room and none may open; each holds a pending slot. */
    private final ArrayDeque<Waiter> pending = new ArrayDeque<>();
    private final Runnable unregister;
    private int activeStreams;
    private boolean draining;

    /** A request not yet on a stream: waiting in the pool, or on a connection that is not ready. */
    private final class Waiter implements Cancellable {
        final UpstreamListener listener;
        final Callback callback;
        /** The connection it waits on, or null while it waits in {@link #pending}. */
        Conn on;
        boolean done;

        Waiter(UpstreamListener listener, Callback callback) {
            this.listener = listener;
            this.callback = callback;
        }

        @Override
        public void cancel() {
            assert loop.inEventLoop();
            if (done) {
                return;
            }
            done = true;
            if (on != null) {
                on.waiting.remove(this);
            } else if (pending.remove(this)) {
                resources.pending().release();
            }
        }

        void fail(ResponseFlag flag, String detail) {
            if (!done) {
                done = true;
                callback.onFailure(flag, detail);
            }
        }
    }

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
                } else {
                    servePending();
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
        Runnable a = resources.onConnectionFreed(() -> {
            if (resources.pending().open() > 0) {
                loop.execute(this::servePending);
            }
        });
        // another pool's request waits for a connection slot: give up a connection without streams
        Runnable b = resources.onStarved(() -> loop.execute(() -> {
            for (Conn c : conns) {
                if (c.ready && c.active == 0 && c.waiting.isEmpty() && pending.isEmpty()) {
                    c.goingAway = true;
                    closeIfDone(c);
                    return;
                }
            }
        }));
        this.unregister = () -> {
            a.run();
            b.run();
        };
    }

    @Override
    public Cancellable newStream(UpstreamListener listener, Callback callback) {
        assert loop.inEventLoop();
        Waiter w = new Waiter(listener, callback);
        if (place(w)) {
            return w;
        }
        if (pending.size() < Http1ConnectionPool.MAX_PENDING && resources.tryAcquirePending()) {
            pending.add(w);
            if (resources.connectionStarved()) {
                resources.starved();
            }
            return w;
        }
        callback.onFailure(ResponseFlag.UO, "upstream overflow: cluster '" + cluster.name() + "' has "
                + resources.connections().open() + " connections (max_connections "
                + resources.config().maxConnections() + ") with no free stream and " + resources.pending().open()
                + " pending requests (max_pending_requests " + resources.config().maxPendingRequests() + ")");
        return Cancellable.NONE;
    }

    /**
     * Puts {@code w} on a stream of a ready connection, behind a connection that is not ready yet,
     * or on a new connection; false when none has room and no new one may open.
     */
    private boolean place(Waiter w) {
        return place(w, true);
    }

    private boolean place(Waiter w, boolean countOverflow) {
        for (Conn c : conns) {
            if (c.ready && c.hasRoom()) {
                open(c, w);
                return true;
            }
        }
        for (Conn c : conns) {
            if (!c.ready && c.hasRoom()) {
                w.on = c;
                c.waiting.add(w);
                return true;
            }
        }
        if (conns.size() >= cluster.maxConnectionsPerEndpoint()
                || !(countOverflow ? resources.tryAcquireConnection() : resources.tryAcquireConnectionQuietly())) {
            return false;
        }
        Conn c = connect();
        w.on = c;
        c.waiting.add(w);
        return true;
    }

    private Conn connect() {
        Conn c = new Conn();
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
                conns.remove(c);
                String why = "upstream connect error: " + UpstreamConnector.describe(f.cause());
                Waiter x;
                while ((x = c.waiting.poll()) != null) {
                    x.fail(ResponseFlag.UF, why);
                }
                resources.connections().release();
                return;
            }
            c.channel.closeFuture().addListener(cf -> {
                conns.remove(c);
                Waiter x;
                while ((x = c.waiting.poll()) != null) {
                    x.fail(ResponseFlag.UC, "upstream connection closed before the stream opened");
                }
                resources.connections().release();
            });
        });
        return c;
    }

    private void dispatch(Conn c) {
        while (!c.waiting.isEmpty() && c.active < c.maxStreams && !c.goingAway) {
            open(c, c.waiting.poll());
        }
        // whatever does not fit goes through the pool again, which may open a new connection or wait
        List<Waiter> rest = new ArrayList<>(c.waiting);
        c.waiting.clear();
        for (Waiter w : rest) {
            w.on = null;
            if (!place(w)) {
                if (resources.tryAcquirePending()) {
                    pending.add(w);
                } else {
                    w.fail(ResponseFlag.UO, "upstream overflow: cluster '" + cluster.name()
                            + "' has no free stream and " + resources.pending().open()
                            + " pending requests (max_pending_requests " + resources.config().maxPendingRequests() + ")");
                }
            }
        }
        servePending();
    }

    /** Moves waiting requests onto streams or new connections while there is room. */
    private void servePending() {
        Waiter w;
        while ((w = pending.peek()) != null) {
            pending.poll();
            if (!place(w, false)) {
                pending.addFirst(w);
                return;
            }
            resources.pending().release();
        }
    }

    private void open(Conn c, Waiter w) {
        w.on = null;
        w.done = true;
        c.active++;
        activeStreams++;
        Http2UpstreamStream stream = new Http2UpstreamStream(host, w.listener);
        Future<Http2StreamChannel> f = new Http2StreamChannelBootstrap(c.channel).handler(stream).open();
        f.addListener(x -> {
            if (!x.isSuccess()) {
                c.active--;
                activeStreams--;
                w.callback.onFailure(ResponseFlag.UC, "cannot open upstream stream: " + UpstreamConnector.describe(x.cause()));
                closeIfDone(c);
                servePending();
                return;
            }
            Http2StreamChannel sc = f.getNow();
            sc.closeFuture().addListener(cf -> {
                c.active--;
                activeStreams--;
                // a freed stream serves a waiting request before anything else
                servePending();
                if (c.active == 0 && c.waiting.isEmpty() && pending.isEmpty() && resources.connectionStarved()) {
                    c.goingAway = true;
                }
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
    public int pendingRequests() {
        int n = pending.size();
        for (Conn c : conns) {
            n += c.waiting.size();
        }
        return n;
    }

    @Override
    public int activeRequests() {
        return activeStreams;
    }

    @Override
    public int idleConnections() {
        int n = 0;
        for (Conn c : conns) {
            if (c.ready && c.active == 0) {
                n++;
            }
        }
        return n;
    }

    @Override
    public void drain() {
        loop.execute(() -> {
            draining = true;
            unregister.run();
            for (Conn c : new ArrayList<>(conns)) {
                c.goingAway = true;
                closeIfDone(c);
            }
        });
    }
}
