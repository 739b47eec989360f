package dev.trellis.sidecar.router;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.cluster.LoadBalancer;
import dev.trellis.sidecar.cluster.ResourceManager;
import dev.trellis.sidecar.config.RetryPolicy;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.http.ActiveStream;
import dev.trellis.sidecar.http.RequestSink;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A routed request across its attempts: the route timeout over all of them, per-try timeouts,
 * retries with back-off, the retry budget, and hosts already tried. The request body is kept
 * (up to {@value #RETRY_BUFFER_LIMIT} bytes) while a retry may still need it; a request is retried
 * only while its body is complete in that buffer and before any response byte went downstream.
 * Every attempt carries {@code x-trellis-attempt: N}. Runs on the downstream event loop.
 */
final class RouterRequest implements RequestSink {
    static final int RETRY_BUFFER_LIMIT = 64 * 1024;
    static final String ATTEMPT_HEADER = "x-trellis-attempt";

    private final ActiveStream stream;
    private final Cluster cluster;
    private final ResourceManager resources;
    private final RouteTable.Forward route;
    private final RouteTable.WeightedCluster weighted;
    private final RouteMatcher.Match match;
    private final Http2Headers headers;
    private final boolean endedWithHeaders;
    private final OptionalLong hash;
    private final RetryState retry;
    private final long timeoutNanos;
    private final boolean propagateGrpcTimeout;
    private final EventLoop loop;
    /** Body chunks ({@link Data}) and trailers, kept while a retry could replay them. */
    private final List<Object> body = new ArrayList<>();
    private final Set<Host> tried = new HashSet<>();
    private int bodyBytes;
    private boolean buffering;
    private boolean requestEnded;
    private UpstreamRequest attempt;
    private int attempts;
    private boolean committed;
    private boolean done;
    private boolean holdingRequest;
    private boolean holdingRetry;
    private boolean pausedForBackoff;
    private long deadlineNanos;
    private ScheduledFuture<?> globalTimer;
    private ScheduledFuture<?> backoffTimer;

    private record Data(ByteBuf buf, boolean end) {}

    RouterRequest(ActiveStream stream, Cluster cluster, RouteTable.Forward route, RouteTable.WeightedCluster weighted,
                  RouteMatcher.Match match, Http2Headers headers, boolean endStream, OptionalLong hash) {
        this.stream = stream;
        this.cluster = cluster;
        this.resources = cluster.resources(route.highPriority());
        this.route = route;
        this.weighted = weighted;
        this.match = match;
        this.headers = headers;
        this.endedWithHeaders = endStream;
        this.requestEnded = endStream;
        this.hash = hash;
        this.loop = stream.downstream().eventLoop();
        this.retry = route.retryPolicy().map(p -> new RetryState(p, b -> ThreadLocalRandom.current().nextLong(b)))
                .orElse(null);
        this.buffering = retry != null && !endStream;
        long t = route.timeout().toNanos();
        long grpc = GrpcTimeout.parse(headers.get(GrpcTimeout.HEADER));
        // only a caller's own deadline is passed on (made smaller by the route timeout), as Envoy does
        this.propagateGrpcTimeout = grpc > 0;
        if (grpc > 0) {
            t = t == 0 ? grpc : Math.min(t, grpc);
        }
        this.timeoutNanos = t;
    }

    ActiveStream stream() {
        return stream;
    }

    long nanoTime() {
        return stream.connectionManager().nanoTime();
    }

    /** Takes the request slot and sends the first attempt; false when answered locally. */
    boolean start() {
        if (!resources.tryAcquireRequest()) {
            stream.fail(ResponseFlag.UO, "upstream overflow: cluster '" + cluster.name() + "' has "
                    + resources.config().maxRequests() + " active requests (max_requests)");
            return false;
        }
        holdingRequest = true;
        Host host = pick();
        if (host == null) {
            release();
            stream.fail(ResponseFlag.UH, "no healthy upstream in cluster '" + cluster.name() + "'");
            return false;
        }
        if (requestEnded) {
            armGlobalTimeout();
        }
        startAttempt(host);
        return true;
    }

    private Host pick() {
        boolean avoid = retry != null && retry.policy().avoidPreviousHosts() && !tried.isEmpty();
        int maxAttempts = retry != null ? retry.policy().hostSelectionRetryMaxAttempts() : 1;
        return cluster.choose(new LoadBalancer.Context() {
            @Override public OptionalLong hash() { return hash; }
            @Override public boolean shouldAvoid(Host h) { return avoid && tried.contains(h); }
            @Override public int hostSelectionRetryMaxAttempts() { return maxAttempts; }
        });
    }

    private void startAttempt(Host host) {
        attempts++;
        tried.add(host);
        Http2Headers h = new DefaultHttp2Headers(false);
        h.add(headers);
        h.setInt(ATTEMPT_HEADER, attempts);
        if (route.autoHostRewrite()) {
            h.authority(host.hostname() + ":" + host.address().getPort());
        }
        if (propagateGrpcTimeout && deadlineNanos != 0) {
            h.set(GrpcTimeout.HEADER, GrpcTimeout.encode(Math.max(1, deadlineNanos - nanoTime())));
        } else if (propagateGrpcTimeout && timeoutNanos > 0) {
            h.set(GrpcTimeout.HEADER, GrpcTimeout.encode(timeoutNanos));
        }
        stream.info().upstreamHost(host.label());
        stream.info().attempt();
        UpstreamRequest a = new UpstreamRequest(this, cluster, host, h, endedWithHeaders, loop, route.highPriority());
        attempt = a;
        a.start();
        if (a.finished()) {
            return;
        }
        for (Object o : body) {
            if (o instanceof Data d) {
                a.data(d.buf.retainedDuplicate(), d.end);
            } else {
                a.trailers((Http2Headers) o);
            }
        }
        if (requestEnded) {
            armPerTry(a);
        }
        if (bodyBytes > RETRY_BUFFER_LIMIT) {
            stopBuffering();
        }
        if (pausedForBackoff) {
            pausedForBackoff = false;
            stream.downstream().setAutoRead(true);
        }
    }

    private void armPerTry(UpstreamRequest a) {
        if (retry == null || retry.policy().perTryTimeout().isEmpty()) {
            return;
        }
        a.armPerTry(retry.policy().perTryTimeout().get().toNanos());
    }

    private void armGlobalTimeout() {
        if (timeoutNanos == 0 || globalTimer != null || done) {
            return;
        }
        deadlineNanos = nanoTime() + timeoutNanos;
        globalTimer = loop.schedule(this::onGlobalTimeout, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void onGlobalTimeout() {
        if (done) {
            return;
        }
        UpstreamRequest a = attempt;
        if (a != null) {
            cluster.reportLocalFailure(a.host(), Cluster.LocalFailure.TIMEOUT);
            a.abort(ResponseFlag.UT);
        }
        fail(ResponseFlag.UT, "upstream request timeout after " + timeoutNanos / 1_000_000 + "ms");
    }

    private void stopBuffering() {
        buffering = false;
        for (Object o : body) {
            if (o instanceof Data d) {
                d.buf.release();
            }
        }
        body.clear();
    }

    /** Whether the whole request can be sent again. */
    private boolean replayable() {
        return endedWithHeaders || buffering;
    }

    // ---- request direction (from the downstream) ----

    @Override
    public void data(ByteBuf data, boolean endStream) {
        if (done) {
            data.release();
            return;
        }
        if (endStream) {
            requestEnded = true;
        }
        if (buffering) {
            body.add(new Data(data, endStream));
            bodyBytes += data.readableBytes();
            if (attempt != null) {
                attempt.data(data.retainedDuplicate(), endStream);
                if (bodyBytes > RETRY_BUFFER_LIMIT) {
                    stopBuffering();
                }
            }
        } else if (attempt != null) {
            attempt.data(data, endStream);
        } else {
            data.release();
        }
        if (endStream) {
            armGlobalTimeout();
            if (attempt != null) {
                armPerTry(attempt);
            }
        }
    }

    @Override
    public void trailers(Http2Headers trailers) {
        if (done) {
            return;
        }
        requestEnded = true;
        if (buffering) {
            body.add(trailers);
        }
        if (attempt != null) {
            attempt.trailers(trailers);
            armPerTry(attempt);
        }
        armGlobalTimeout();
    }

    @Override
    public void cancel() {
        if (done) {
            return;
        }
        UpstreamRequest a = attempt;
        done();
        if (a != null) {
            a.abort(ResponseFlag.DC);
        }
    }

    @Override
    public void downstreamWritable(boolean writable) {
        if (attempt != null && !done) {
            attempt.setUpstreamAutoRead(writable);
        }
    }

    // ---- attempt outcomes ----

    void attemptFailed(UpstreamRequest a, ResponseFlag flag, String detail) {
        if (a != attempt || done) {
            return;
        }
        attempt = null;
        if (flag != ResponseFlag.UO && maybeRetry(flag == ResponseFlag.UF ? RetryState.Outcome.CONNECT_FAILURE
                : RetryState.Outcome.RESET)) {
            return;
        }
        fail(flag, detail);
    }

    void attemptReset(UpstreamRequest a, String reason) {
        if (a != attempt || done) {
            return;
        }
        attempt = null;
        long grpcTimeout = GrpcTimeout.parse(headers.get(GrpcTimeout.HEADER));
        if (stream.info().grpc() && grpcTimeout > 0 && nanoTime() - stream.info().startNanos() >= grpcTimeout) {
            // a gRPC server cancels (RST_STREAM) at the deadline it was given: that is a timeout, not an outage
            fail(ResponseFlag.UT, "upstream cancelled the call at its grpc-timeout: " + reason);
            return;
        }
        if (!committed && maybeRetry(reason.contains("REFUSED_STREAM") ? RetryState.Outcome.REFUSED_STREAM
                : RetryState.Outcome.RESET)) {
            return;
        }
        fail(ResponseFlag.UC, "upstream reset: " + reason);
    }

    void attemptTimedOut(UpstreamRequest a) {
        if (a != attempt || done) {
            return;
        }
        cluster.reportLocalFailure(a.host(), Cluster.LocalFailure.TIMEOUT);
        a.abort(ResponseFlag.UT);
        attempt = null;
        if (!committed && maybeRetry(RetryState.Outcome.PER_TRY_TIMEOUT)) {
            return;
        }
        fail(ResponseFlag.UT, "upstream per-try timeout after "
                + retry.policy().perTryTimeout().get().toMillis() + "ms");
    }

    void attemptHeaders(UpstreamRequest a, Http2Headers h, boolean endStream) {
        if (a != attempt || done) {
            return;
        }
        if (!committed && retry != null && retry.retriable(h) && maybeRetry(null)) {
            a.abort(null);
            attempt = null;
            return;
        }
        committed = true;
        Router.mutateResponse(h, match, weighted, stream.connectionManager());
        if (endStream) {
            done();
        }
        stream.encodeHeaders(h, endStream);
    }

    void attemptData(UpstreamRequest a, ByteBuf data, boolean endStream) {
        if (a != attempt || done || !committed) {
            data.release();
            return;
        }
        if (endStream) {
            done();
        }
        stream.encodeData(data, endStream);
        if (!endStream && !stream.downstream().isWritable()) {
            a.setUpstreamAutoRead(false);
        }
    }

    void attemptTrailers(UpstreamRequest a, Http2Headers trailers) {
        if (a != attempt || done || !committed) {
            return;
        }
        done();
        stream.encodeTrailers(trailers);
    }

    void attemptWritable(UpstreamRequest a, boolean writable) {
        if (a == attempt && !done && !pausedForBackoff) {
            stream.downstream().setAutoRead(writable);
        }
    }

    /**
     * Schedules another attempt if the policy, the body, the retry budget and the deadline allow;
     * {@code outcome} is null for a retriable response (already checked).
     */
    private boolean maybeRetry(RetryState.Outcome outcome) {
        if (retry == null || committed || !replayable()) {
            return false;
        }
        if (outcome != null && !retry.retriable(outcome)) {
            return false;
        }
        if (!retry.retriesLeft()) {
            stream.info().addFlag(ResponseFlag.URX);
            return false;
        }
        releaseRetry();
        if (!resources.tryAcquireRetry()) {
            cluster.countRetryOverflow();
            return false;
        }
        holdingRetry = true;
        long backoff = retry.nextBackoffNanos();
        if (!requestEnded) {
            pausedForBackoff = true;
            stream.downstream().setAutoRead(false);
        }
        cluster.countRetry();
        backoffTimer = loop.schedule(() -> {
            if (done) {
                return;
            }
            Host h = pick();
            if (h == null) {
                fail(ResponseFlag.UH, "no healthy upstream in cluster '" + cluster.name() + "'");
                return;
            }
            startAttempt(h);
        }, backoff, TimeUnit.NANOSECONDS);
        return true;
    }

    private void fail(ResponseFlag flag, String detail) {
        done();
        stream.fail(flag, detail);
    }

    private void done() {
        if (done) {
            return;
        }
        done = true;
        if (globalTimer != null) {
            globalTimer.cancel(false);
        }
        if (backoffTimer != null) {
            backoffTimer.cancel(false);
        }
        stopBuffering();
        release();
        if (pausedForBackoff) {
            pausedForBackoff = false;
        }
        stream.downstream().setAutoRead(true);
    }

    private void releaseRetry() {
        if (holdingRetry) {
            holdingRetry = false;
            resources.retries().release();
        }
    }

    private void release() {
        releaseRetry();
        if (holdingRequest) {
            holdingRequest = false;
            resources.requests().release();
        }
    }

    /** The route's retry policy, if any (for tests). */
    RetryPolicy retryPolicy() {
        return retry == null ? null : retry.policy();
    }
}
