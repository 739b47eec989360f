package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.cluster.ResourceManager;
import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.error.ResponseFlag;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.Promise;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * HTTP/1.1 connections to one host on one event loop: one request at a time per connection,
 * idle connections kept for reuse up to {@link #MAX_IDLE}, at most
 * {@code maxConnectionsPerEndpoint} open with a bounded queue of waiting requests behind them;
 * connections and waiting requests also count against the cluster's circuit breakers.
 */
final class Http1ConnectionPool implements ConnectionPool {
    static final int MAX_IDLE = 64;
    static final int MAX_PENDING = 1024;
    static final long IDLE_CLOSE_SECONDS = 60;

    private final EventLoop loop;
    private final Host host;
    private final ClusterConfig cluster;
    private final SslContext ssl;
    private final ResourceManager resources;
    private final ArrayDeque<Channel> idle = new ArrayDeque<>();
    private final ArrayDeque<Waiter> pending = new ArrayDeque<>();
    private final Runnable unregister;
    private int open;
    private int connecting;
    private boolean draining;

    /** A request waiting for a connection: queued ({@code queued}, holding a pending slot) or connecting one. */
    private final class Waiter implements Cancellable {
        final UpstreamListener listener;
        final Callback callback;
        boolean queued;
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
            if (queued && pending.remove(this)) {
                resources.pending().release();
            }
        }
    }

    Http1ConnectionPool(EventLoop loop, Host host, ClusterConfig cluster, SslContext ssl, ResourceManager resources) {
        this.resources = resources;
        Runnable a = resources.onConnectionFreed(() -> {
            if (resources.pending().open() > 0) {
                loop.execute(this::servePending);
            }
        });
        Runnable b = resources.onStarved(() -> loop.execute(() -> {
            Channel ch = idle.poll();
            if (ch != null) {
                ch.close();
            }
        }));
        this.unregister = () -> {
            a.run();
            b.run();
        };
        this.loop = loop;
        this.host = host;
        this.cluster = cluster;
        this.ssl = ssl;
    }

    @Override
    public Cancellable newStream(UpstreamListener listener, Callback callback) {
        assert loop.inEventLoop();
        Channel ch;
        while ((ch = idle.pollLast()) != null) {
            if (ch.isActive()) {
                callback.onReady(Http1Connection.of(ch).start(listener));
                return Cancellable.NONE;
            }
        }
        Waiter w = new Waiter(listener, callback);
        if (open + connecting < cluster.maxConnectionsPerEndpoint() && resources.tryAcquireConnection()) {
            connect(w);
        } else if (pending.size() < MAX_PENDING && resources.tryAcquirePending()) {
            w.queued = true;
            pending.add(w);
            if (resources.connectionStarved()) {
                resources.starved();
            }
        } else {
            callback.onFailure(ResponseFlag.UO, "upstream overflow: cluster '" + cluster.name() + "' has "
                    + resources.connections().open() + " connections (max_connections "
                    + resources.config().maxConnections() + ") and " + resources.pending().open()
                    + " pending requests (max_pending_requests " + resources.config().maxPendingRequests() + ")");
            return Cancellable.NONE;
        }
        return w;
    }

    private void connect(Waiter w) {
        w.queued = false;
        connecting++;
        Promise<Channel> p = loop.newPromise();
        UpstreamConnector.connect(loop, host, cluster, ssl, ch -> {
            HttpDecoderConfig dc = new HttpDecoderConfig().setMaxHeaderSize(64 * 1024).setMaxChunkSize(64 * 1024);
            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, IDLE_CLOSE_SECONDS, TimeUnit.SECONDS));
            ch.pipeline().addLast("codec", new HttpClientCodec(dc, false, false));
            ch.pipeline().addLast("http1", new Http1Connection(this, host));
        }, p);
        p.addListener(f -> {
            connecting--;
            if (!f.isSuccess()) {
                resources.connections().release();
                if (!w.done) {
                    w.done = true;
                    w.callback.onFailure(ResponseFlag.UF, "upstream connect error: " + UpstreamConnector.describe(f.cause()));
                }
                return;
            }
            Channel ch = p.getNow();
            open++;
            ch.closeFuture().addListener(c -> {
                open--;
                resources.connections().release();
                idle.remove(ch);
                servePending();
            });
            if (w.done) {
                // its request went away while connecting: the connection serves the next one
                release(ch, true);
                return;
            }
            w.done = true;
            w.callback.onReady(Http1Connection.of(ch).start(w.listener));
        });
    }

    /** Called when a connection finished its exchange. */
    void release(Channel ch, boolean reusable) {
        if (!reusable || !ch.isActive()) {
            ch.close();
            return;
        }
        Waiter w = pending.poll();
        if (w != null) {
            resources.pending().release();
            w.done = true;
            w.callback.onReady(Http1Connection.of(ch).start(w.listener));
        } else if (draining || resources.connectionStarved()) {
            // requests on other event loops wait for a connection slot: free this one
            ch.close();
        } else if (idle.size() < MAX_IDLE) {
            idle.add(ch);
        } else {
            ch.close();
        }
    }

    /** Opens connections for waiting requests while the limits allow (a draining pool still serves its own). */
    private void servePending() {
        while (!pending.isEmpty() && open + connecting < cluster.maxConnectionsPerEndpoint()
                && resources.tryAcquireConnectionQuietly()) {
            resources.pending().release();
            connect(pending.poll());
        }
    }

    @Override
    public int connections() {
        return open;
    }

    @Override
    public int pendingRequests() {
        return pending.size() + connecting;
    }

    @Override
    public int activeRequests() {
        return Math.max(0, open - idle.size());
    }

    @Override
    public int idleConnections() {
        return idle.size();
    }

    @Override
    public void drain() {
        loop.execute(() -> {
            draining = true;
            unregister.run();
            Channel ch;
            while ((ch = idle.poll()) != null) {
                ch.close();
            }
        });
    }
}
