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
    private int open;
    private int connecting;
    private boolean draining;

    private record Waiter(UpstreamListener listener, Callback callback) {}

    Http1ConnectionPool(EventLoop loop, Host host, ClusterConfig cluster, SslContext ssl, ResourceManager resources) {
        this.resources = resources;
        resources.onConnectionFreed(() -> {
            if (resources.pending().open() > 0) {
                loop.execute(this::servePending);
            }
        });
        resources.onStarved(() -> loop.execute(() -> {
            Channel ch = idle.poll();
            if (ch != null) {
                ch.close();
            }
        }));
        this.loop = loop;
        this.host = host;
        this.cluster = cluster;
        this.ssl = ssl;
    }

    @Override
    public void newStream(UpstreamListener listener, Callback callback) {
        assert loop.inEventLoop();
        Channel ch;
        while ((ch = idle.pollLast()) != null) {
            if (ch.isActive()) {
                callback.onReady(Http1Connection.of(ch).start(listener));
                return;
            }
        }
        if (open + connecting < cluster.maxConnectionsPerEndpoint() && resources.tryAcquireConnection()) {
            connect(new Waiter(listener, callback));
        } else if (pending.size() < MAX_PENDING && resources.tryAcquirePending()) {
            pending.add(new Waiter(listener, callback));
            if (resources.connectionStarved()) {
                resources.starved();
            }
        } else {
            callback.onFailure(ResponseFlag.UO, "upstream overflow: cluster '" + cluster.name() + "' has "
                    + resources.connections().open() + " connections (max_connections "
                    + resources.config().maxConnections() + ") and " + resources.pending().open()
                    + " pending requests (max_pending_requests " + resources.config().maxPendingRequests() + ")");
        }
    }

    private void connect(Waiter w) {
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
                w.callback.onFailure(ResponseFlag.UF, "upstream connect error: " + UpstreamConnector.describe(f.cause()));
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
            w.callback.onReady(Http1Connection.of(ch).start(w.listener));
        });
    }

    /** Called when a connection finished its exchange. */
    void release(Channel ch, boolean reusable) {
        if (!reusable || !ch.isActive() || draining) {
            ch.close();
            return;
        }
        Waiter w = pending.poll();
        if (w != null) {
            resources.pending().release();
            w.callback.onReady(Http1Connection.of(ch).start(w.listener));
        } else if (resources.connectionStarved()) {
            // requests on other event loops wait for a connection slot: free this one
            ch.close();
        } else if (idle.size() < MAX_IDLE) {
            idle.add(ch);
        } else {
            ch.close();
        }
    }

    private void servePending() {
        while (!pending.isEmpty() && open + connecting < cluster.maxConnectionsPerEndpoint() && !draining
                && resources.tryAcquireConnection()) {
            resources.pending().release();
            connect(pending.poll());
        }
    }

    @Override
    public int connections() {
        return open;
    }

    @Override
    public void drain() {
        loop.execute(() -> {
            draining = true;
            Channel ch;
            while ((ch = idle.poll()) != null) {
                ch.close();
            }
        });
    }
}
