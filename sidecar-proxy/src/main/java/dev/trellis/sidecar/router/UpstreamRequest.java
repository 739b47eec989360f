package dev.trellis.sidecar.router;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.UpstreamAttemptObserver;
import dev.trellis.sidecar.http.ActiveStream;
import dev.trellis.sidecar.http.RequestSink;
import dev.trellis.sidecar.upstream.ConnectionPool;
import dev.trellis.sidecar.upstream.UpstreamListener;
import dev.trellis.sidecar.upstream.UpstreamStream;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Streams one request to one upstream host and its response back, with backpressure both ways:
 * when one side cannot take more, the other stops reading. Failures go to
 * {@link ActiveStream#fail}, which is where they become responses.
 */
final class UpstreamRequest implements RequestSink, UpstreamListener, ConnectionPool.Callback {
    private final ActiveStream stream;
    private final Cluster cluster;
    private final Host host;
    private final RouteTable.Forward route;
    private final RouteTable.WeightedCluster weighted;
    private final RouteMatcher.Match match;
    private final Http2Headers headers;
    private final boolean headersEndStream;
    /** Body and trailers that arrived before the upstream stream was ready. */
    private final ArrayDeque<Object> pending = new ArrayDeque<>();
    private UpstreamStream upstream;
    private ScheduledFuture<?> timeout;
    private boolean finished;
    private boolean counted;
    private boolean requestSent;
    private UpstreamAttemptObserver attempt = UpstreamAttemptObserver.NONE;
    private int upstreamStatus;
    private ResponseFlag failure;
    private long startNanos;

    UpstreamRequest(ActiveStream stream, Cluster cluster, Host host, RouteTable.Forward route,
                    RouteTable.WeightedCluster weighted, RouteMatcher.Match match, Http2Headers headers, boolean endStream) {
        this.stream = stream;
        this.cluster = cluster;
        this.host = host;
        this.route = route;
        this.weighted = weighted;
        this.match = match;
        this.headers = headers;
        this.headersEndStream = endStream;
    }

    void start() {
        startNanos = stream.connectionManager().nanoTime();
        stream.info().upstreamHost(host.label());
        stream.info().attempt();
        attempt = stream.connectionManager().observer().onUpstreamAttempt(stream.info(), host.label(), headers);
        host.countRequest();
        host.activeRequests().incrementAndGet();
        counted = true;
        if (headersEndStream) {
            armTimeout();
        }
        cluster.pool(stream.downstream().eventLoop(), host).newStream(this, this);
    }

    private void armTimeout() {
        if (route.timeout().isZero() || timeout != null || finished) {
            return;
        }
        timeout = stream.downstream().eventLoop().schedule(this::onTimeout, route.timeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void onTimeout() {
        if (finished) {
            return;
        }
        failure = ResponseFlag.UT;
        UpstreamStream u = upstream;
        finish();
        if (u != null) {
            u.reset();
        }
        stream.fail(ResponseFlag.UT, "upstream request timeout after " + route.timeout().toMillis() + "ms");
    }

    // ---- pool callback ----

    @Override
    public void onReady(UpstreamStream s) {
        if (finished) {
            s.reset();
            return;
        }
        upstream = s;
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
        stream.downstream().setAutoRead(s.isWritable());
    }

    @Override
    public void onFailure(ResponseFlag flag, String detail) {
        if (finished) {
            return;
        }
        failure = flag;
        finish();
        stream.fail(flag, detail);
    }

    // ---- request direction ----

    private record Data(ByteBuf buf, boolean end) {}

    @Override
    public void data(ByteBuf data, boolean endStream) {
        if (finished) {
            data.release();
            return;
        }
        if (endStream) {
            armTimeout();
        }
        if (upstream == null) {
            pending.add(new Data(data, endStream));
            stream.downstream().setAutoRead(false);
            return;
        }
        upstream.writeData(data, endStream);
        requestSent |= endStream;
        if (!upstream.isWritable()) {
            stream.downstream().setAutoRead(false);
        }
    }

    @Override
    public void trailers(Http2Headers trailers) {
        if (finished) {
            return;
        }
        armTimeout();
        if (upstream == null) {
            pending.add(trailers);
            return;
        }
        upstream.writeTrailers(trailers);
        requestSent = true;
    }

    @Override
    public void cancel() {
        if (finished) {
            return;
        }
        failure = ResponseFlag.DC;
        UpstreamStream u = upstream;
        finish();
        if (u != null) {
            u.reset();
        }
    }

    @Override
    public void downstreamWritable(boolean writable) {
        if (upstream != null && !finished) {
            upstream.setAutoRead(writable);
        }
    }

    // ---- response direction ----

    @Override
    public void onHeaders(Http2Headers h, boolean endStream) {
        if (finished) {
            return;
        }
        if (upstreamStatus == 0 && h.status() != null) {
            upstreamStatus = Integer.parseInt(h.status().toString());
        }
        host.ewma().observe(stream.connectionManager().nanoTime() - startNanos);
        Router.mutateResponse(h, match, weighted, stream.connectionManager());
        if (endStream) {
            finishResponse();
        }
        stream.encodeHeaders(h, endStream);
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
        stream.encodeData(data, endStream);
        if (!endStream && !stream.downstream().isWritable() && upstream != null) {
            upstream.setAutoRead(false);
        }
    }

    @Override
    public void onTrailers(Http2Headers trailers) {
        if (finished) {
            return;
        }
        finishResponse();
        stream.encodeTrailers(trailers);
    }

    @Override
    public void onReset(String reason) {
        if (finished) {
            return;
        }
        failure = ResponseFlag.UC;
        finish();
        if (stream.info().grpc() && grpcDeadlinePassed()) {
            // a gRPC server cancels (RST_STREAM) at the deadline it was given: that is a timeout, not an outage
            stream.fail(ResponseFlag.UT, "upstream cancelled the call at its grpc-timeout: " + reason);
            return;
        }
        stream.fail(ResponseFlag.UC, "upstream reset: " + reason);
    }

    /** True when the request's {@code grpc-timeout} has run out since the stream started. */
    private boolean grpcDeadlinePassed() {
        long timeout = grpcTimeoutNanos(headers.get("grpc-timeout"));
        return timeout >= 0 && stream.connectionManager().nanoTime() - stream.info().startNanos() >= timeout;
    }

    /** {@code grpc-timeout} (1 to 8 digits and a unit H M S m u n) in nanoseconds, or -1. */
    static long grpcTimeoutNanos(CharSequence v) {
        if (v == null || v.length() < 2 || v.length() > 9) {
            return -1;
        }
        long n;
        try {
            n = Long.parseLong(v.subSequence(0, v.length() - 1).toString());
        } catch (NumberFormatException e) {
            return -1;
        }
        TimeUnit unit = switch (v.charAt(v.length() - 1)) {
            case 'H' -> TimeUnit.HOURS;
            case 'M' -> TimeUnit.MINUTES;
            case 'S' -> TimeUnit.SECONDS;
            case 'm' -> TimeUnit.MILLISECONDS;
            case 'u' -> TimeUnit.MICROSECONDS;
            case 'n' -> TimeUnit.NANOSECONDS;
            default -> null;
        };
        return unit == null || n < 0 ? -1 : unit.toNanos(n);
    }

    @Override
    public void onWritabilityChanged(boolean writable) {
        if (!finished) {
            stream.downstream().setAutoRead(writable);
        }
    }

    /** The response is complete; an upstream still waiting for request body is reset. */
    private void finishResponse() {
        finish();
        if (!requestSent && upstream != null) {
            upstream.reset();
        }
    }

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        attempt.onEnd(upstreamStatus, failure);
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (counted) {
            host.activeRequests().decrementAndGet();
        }
        Object o;
        while ((o = pending.poll()) != null) {
            if (o instanceof Data d) {
                d.buf.release();
            }
        }
        stream.downstream().setAutoRead(true);
    }
}
