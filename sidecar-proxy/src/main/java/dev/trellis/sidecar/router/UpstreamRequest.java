package dev.trellis.sidecar.router;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.UpstreamAttemptObserver;
import dev.trellis.sidecar.upstream.ConnectionPool;
import dev.trellis.sidecar.upstream.UpstreamListener;
import dev.trellis.sidecar.upstream.UpstreamStream;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One attempt of a routed request: streams the request to one upstream host and the response
 * back to its {@link RouterRequest}, which decides whether the response goes downstream or the
 * request is tried again. Runs on the downstream event loop.
 */
final class UpstreamRequest implements UpstreamListener, ConnectionPool.Callback {
    private final RouterRequest parent;
    private final Cluster cluster;
    private final Host host;
    private final Http2Headers headers;
    private final boolean headersEndStream;
    private final EventLoop loop;
    private final boolean highPriority;
    /** Withdraws the request from its pool while it waits for a connection or stream. */
    private ConnectionPool.Cancellable waiting = ConnectionPool.Cancellable.NONE;
    /** Body and trailers that arrived before the upstream stream was ready. */
    private final ArrayDeque<Object> pending = new ArrayDeque<>();
    private UpstreamStream upstream;
    private ScheduledFuture<?> perTryTimer;
    private boolean finished;
    private boolean requestSent;
    private boolean responseStarted;
    private long startNanos;
    private UpstreamAttemptObserver observer = UpstreamAttemptObserver.NONE;
    private int upstreamStatus;
    private ResponseFlag failure;

    private record Data(ByteBuf buf, boolean end) {}

    UpstreamRequest(RouterRequest parent, Cluster cluster, Host host, Http2Headers headers, boolean endStream,
                    EventLoop loop, boolean highPriority) {
        this.parent = parent;
        this.highPriority = highPriority;
        this.cluster = cluster;
        this.host = host;
        this.headers = headers;
        this.headersEndStream = endStream;
        this.loop = loop;
    }

    Host host() {
        return host;
    }

    boolean responseStarted() {
        return responseStarted;
    }

    void start() {
        startNanos = parent.nanoTime();
        observer = parent.stream().connectionManager().observer().onUpstreamAttempt(parent.stream().info(),
                host.label(), headers);
        host.countRequest();
        host.activeRequests().incrementAndGet();
        ConnectionPool.Cancellable w = cluster.pool(loop, host, highPriority, "HTTP/2".equals(parent.stream().downstream().protocol()))
                .newStream(this, this);
        if (!finished && upstream == null) {
            waiting = w;
        }
    }

    /** Arms the per-try timeout (once the whole request is on its way). */
    void armPerTry(long nanos) {
        if (nanos <= 0 || perTryTimer != null || finished) {
            return;
        }
        perTryTimer = loop.schedule(() -> {
            if (!finished) {
                parent.attemptTimedOut(this);
            }
        }, nanos, TimeUnit.NANOSECONDS);
    }

    // ---- pool callback ----

    @Override
    public void onReady(UpstreamStream s) {
        if (finished) {
            s.reset();
            return;
        }
        cluster.reportConnectSuccess(host);
        upstream = s;
        waiting = ConnectionPool.Cancellable.NONE;
        s.writeHeaders(headers, headersEndStream);
        requestSent = headersEndStream;
        Object o;
        while ((o = pending.poll()) != null) {
            if (o instanceof Data d) {
                s.writeData(d.buf, d.end);
                requestSent |= d.end;
            } else {
                s.writeTrailers((Http2Headers) o);
                requestSent = true;
            }
        }
        parent.attemptWritable(this, s.isWritable());
    }

    @Override
    public void onFailure(ResponseFlag flag, String detail) {
        if (finished) {
            return;
        }
        if (flag == ResponseFlag.UF) {
            cluster.reportLocalFailure(host, Cluster.LocalFailure.CONNECT_FAILED);
        }
        failure = flag;
        finish();
        parent.attemptFailed(this, flag, detail);
    }

    // ---- request direction (from the parent) ----

    /** Takes ownership of {@code data}. */
    void data(ByteBuf data, boolean endStream) {
        if (finished) {
            data.release();
            return;
        }
        if (upstream == null) {
            pending.add(new Data(data, endStream));
            return;
        }
        upstream.writeData(data, endStream);
        requestSent |= endStream;
        if (!upstream.isWritable()) {
            parent.attemptWritable(this, false);
        }
    }

    void trailers(Http2Headers trailers) {
        if (finished) {
            return;
        }
        if (upstream == null) {
            pending.add(trailers);
            return;
        }
        upstream.writeTrailers(trailers);
        requestSent = true;
    }

    void setUpstreamAutoRead(boolean autoRead) {
        if (upstream != null && !finished) {
            upstream.setAutoRead(autoRead);
        }
    }

    /** Stops this attempt ({@code why}: its flag, or null for a response not passed on); resets its upstream stream. */
    void abort(ResponseFlag why) {
        if (finished) {
            return;
        }
        failure = why;
        UpstreamStream u = upstream;
        finish();
        if (u != null) {
            u.reset();
        }
    }

    // ---- response direction ----

    @Override
    public void onHeaders(Http2Headers h, boolean endStream) {
        if (finished) {
            return;
        }
        responseStarted = true;
        if (upstreamStatus == 0) {
            upstreamStatus = RetryState.status(h);
        }
        host.ewma().observe(parent.nanoTime() - startNanos);
        cluster.reportResponse(host, RetryState.status(h));
        if (endStream) {
            finishResponse();
        }
        parent.attemptHeaders(this, h, endStream);
    }

    @Override
    public void onData(ByteBuf data, boolean endStream) {
        if (finished) {
            ReferenceCountUtil.release(data);
            return;
        }
        if (endStream) {
            finishResponse();
        }
        parent.attemptData(this, data, endStream);
    }

    @Override
    public void onTrailers(Http2Headers trailers) {
        if (finished) {
            return;
        }
        finishResponse();
        parent.attemptTrailers(this, trailers);
    }

    @Override
    public void onReset(String reason) {
        if (finished) {
            return;
        }
        if (!responseStarted) {
            cluster.reportLocalFailure(host, Cluster.LocalFailure.RESET);
        }
        failure = ResponseFlag.UC;
        finish();
        parent.attemptReset(this, reason);
    }

    @Override
    public void onWritabilityChanged(boolean writable) {
        if (!finished) {
            parent.attemptWritable(this, writable);
        }
    }

    /** The response is complete; an upstream still waiting for request body is reset. */
    private void finishResponse() {
        UpstreamStream u = upstream;
        finish();
        if (!requestSent && u != null) {
            u.reset();
        }
    }

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        if (upstream == null) {
            // still waiting for a connection or stream: give the pending slot back now
            waiting.cancel();
        }
        waiting = ConnectionPool.Cancellable.NONE;
        observer.onEnd(upstreamStatus, failure);
        if (perTryTimer != null) {
            perTryTimer.cancel(false);
        }
        host.activeRequests().decrementAndGet();
        Object o;
        while ((o = pending.poll()) != null) {
            if (o instanceof Data d) {
                d.buf.release();
            }
        }
    }

    boolean finished() {
        return finished;
    }
}
