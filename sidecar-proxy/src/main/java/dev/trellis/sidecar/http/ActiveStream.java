package dev.trellis.sidecar.http;

import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.filter.HttpFilter;
import dev.trellis.sidecar.router.Router;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.Http2Headers;
import java.net.InetSocketAddress;
import dev.trellis.sidecar.router.RouteMatcher;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request/response exchange: runs the filters, hands the request to the router, and sends
 * the response (proxied or local) downstream. Everything runs on the downstream event loop.
 */
public final class ActiveStream implements HttpFilter.Context {
    private static final Logger log = LoggerFactory.getLogger(ActiveStream.class);

    private final HttpConnectionManager hcm;
    private final Downstream downstream;
    private final StreamInfo info;
    private final List<HttpFilter> filters;
    private RequestSink sink;
    private boolean requestEnded;
    private boolean responseStarted;
    private boolean responseEnded;
    private boolean completed;
    private long lastActivity;
    private long idleNanos;
    private io.netty.util.concurrent.ScheduledFuture<?> requestTimer;
    private io.netty.util.concurrent.ScheduledFuture<?> idleTimer;
    private Http2Headers requestHeaders;
    private boolean headersEndedStream;
    private RouteMatcher.Match route;
    private boolean routeResolved;
    /** While a filter has paused the chain: where to go on, and the body that arrived meanwhile. */
    private int nextFilter = -1;
    private ArrayDeque<Object> held;

    ActiveStream(HttpConnectionManager hcm, Downstream downstream) {
        this.hcm = hcm;
        this.downstream = downstream;
        this.info = new StreamInfo(hcm.nanoTime());
        info.listener(hcm.listener());
        info.protocol(downstream.protocol());
        downstream.peerPrincipal().ifPresent(info::sourceIdentity);
        this.filters = new ArrayList<>(hcm.filters().size());
        for (FilterFactory f : hcm.filters()) {
            filters.add(f.create());
        }
        lastActivity = info.startNanos();
        var c = hcm.config();
        c.requestTimeout().ifPresent(d -> requestTimer = downstream.eventLoop().schedule(this::onRequestTimeout,
                d.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS));
        c.streamIdleTimeout().ifPresent(d -> {
            idleNanos = d.toNanos();
            armIdle(idleNanos);
        });
    }

    /** A route's {@code idle_timeout}: replaces the connection manager's stream idle timeout (0 disables). */
    public void idleTimeout(java.time.Duration d) {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        idleNanos = d.toNanos();
        if (idleNanos > 0) {
            armIdle(idleNanos);
        }
    }

    /** Envoy's {@code request_timeout}: the whole request must arrive in time, else 408. */
    private void onRequestTimeout() {
        if (completed || requestEnded) {
            return;
        }
        timedOut("request timeout", null);
    }

    /** Envoy's {@code stream_idle_timeout}: no activity either way for that long ends the stream. */
    private void armIdle(long nanos) {
        idleTimer = downstream.eventLoop().schedule(() -> {
            if (completed) {
                return;
            }
            long idle = hcm.nanoTime() - lastActivity;
            long limit = idleNanos;
            if (limit <= 0) {
                return;
            }
            if (idle >= limit) {
                timedOut("stream idle timeout", ResponseFlag.SI);
            } else {
                armIdle(limit - idle);
            }
        }, nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /** Envoy answers both timeouts with 408; only the stream idle timeout has a flag (SI). */
    private void timedOut(String why, ResponseFlag flag) {
        RequestSink s = sink;
        sink = null;
        if (s != null) {
            s.cancel();
        }
        if (!responseStarted) {
            sendLocalReply(flag == null ? ErrorResponder.plain(408, why, info) : ErrorResponder.reply(flag, why, info.grpc(), info));
        } else {
            if (flag != null) {
                info.addFlag(flag);
            }
            info.detail(why);
            complete();
            downstream.reset();
        }
    }

    private void touch() {
        lastActivity = hcm.nanoTime();
    }

    public HttpConnectionManager connectionManager() { return hcm; }
    public Downstream downstream() { return downstream; }
    @Override public StreamInfo info() { return info; }
    @Override public InetSocketAddress remoteAddress() { return downstream.remoteAddress(); }
    @Override public String scheme() { return downstream.scheme().orElse(hcm.scheme()); }
    @Override public java.util.Optional<String> peerPrincipal() { return downstream.peerPrincipal(); }
    public boolean requestEnded() { return requestEnded; }
    public boolean responseStarted() { return responseStarted; }
    public boolean completed() { return completed; }

    @Override
    public RouteMatcher.Match route() {
        if (!routeResolved && requestHeaders != null) {
            route = hcm.routes().match(requestHeaders);
            routeResolved = true;
        }
        return route;
    }

    @Override
    public java.util.concurrent.Executor executor() {
        return downstream.eventLoop();
    }

    @Override
    public void resume(ErrorResponder.LocalReply reply) {
        if (downstream.eventLoop().inEventLoop()) {
            resumeNow(reply);
        } else {
            downstream.eventLoop().execute(() -> resumeNow(reply));
        }
    }

    private void resumeNow(ErrorResponder.LocalReply reply) {
        if (completed || nextFilter < 0) {
            return;
        }
        int from = nextFilter;
        nextFilter = -1;
        downstream.setAutoRead(true);
        if (reply != null) {
            releaseHeld();
            sendLocalReply(reply);
            return;
        }
        runFilters(from);
    }

    private void runFilters(int from) {
        for (int i = from; i < filters.size(); i++) {
            ErrorResponder.LocalReply r = filters.get(i).onRequestHeaders(requestHeaders, this);
            if (r == HttpFilter.PAUSE) {
                nextFilter = i + 1;
                downstream.setAutoRead(false);
                return;
            }
            if (r != null) {
                releaseHeld();
                sendLocalReply(r);
                return;
            }
        }
        if (completed) {
            releaseHeld();
            return;
        }
        ArrayDeque<Object> h = held;
        held = null;
        sink = Router.route(this, requestHeaders, headersEndedStream);
        if (h != null) {
            for (Object o : h) {
                if (o instanceof HeldData d) {
                    if (sink != null && !completed) {
                        sink.data(d.data, d.end);
                    } else {
                        d.data.release();
                    }
                } else if (sink != null && !completed) {
                    sink.trailers((Http2Headers) o);
                }
            }
        }
    }

    private record HeldData(ByteBuf data, boolean end) {}

    private void releaseHeld() {
        if (held != null) {
            for (Object o : held) {
                if (o instanceof HeldData d) {
                    d.data.release();
                }
            }
            held = null;
        }
    }

    /** Request headers arrived (HTTP/2 form, pseudo-headers set). */
    public void onRequestHeaders(Http2Headers h, boolean endStream) {
        requestEnded = endStream;
        if (h.authority() == null && h.contains("host")) {
            // HTTP/2 allows Host instead of :authority (RFC 9113 8.3.1); route on it either way
            h.authority(h.get("host"));
            h.remove("host");
        }
        info.request(String.valueOf(h.method()), String.valueOf(h.path()), String.valueOf(h.authority()));
        CharSequence ct = h.get("content-type");
        info.grpc(ct != null && ct.toString().startsWith("application/grpc"));
        hcm.observer().onRequestHeaders(info, h);
        if ("CONNECT".contentEquals(h.method())) {
            sendLocalReply(ErrorResponder.plain(405, "CONNECT is not allowed", info));
            return;
        }
        CharSequence rawPath = h.path();
        if (rawPath != null) {
            PathNormalizer.Result n = PathNormalizer.normalize(rawPath.toString(), hcm.config().pathNormalization());
            if (n.refused()) {
                sendLocalReply(ErrorResponder.plain(400, "bad request: " + n.refusal(), info));
                return;
            }
            if (!n.path().contentEquals(rawPath)) {
                // filters, routes and the upstream all see the normalised path
                h.path(n.path());
                info.request(info.method(), n.path(), info.authority());
            }
        }
        requestHeaders = h;
        headersEndedStream = endStream;
        runFilters(0);
    }

    /** Request body; takes ownership of {@code data}. */
    public void onRequestData(ByteBuf data, boolean endStream) {
        touch();
        info.addBytesReceived(data.readableBytes());
        if (endStream) {
            requestEnded = true;
        }
        if (!completed) {
            for (HttpFilter f : filters) {
                ErrorResponder.LocalReply r = f.onRequestData(data.readableBytes(), endStream, this);
                if (r != null) {
                    data.release();
                    RequestSink s = sink;
                    sink = null;
                    if (s != null) {
                        s.cancel();
                    }
                    releaseHeld();
                    nextFilter = -1;
                    if (!responseStarted) {
                        sendLocalReply(r);
                    } else {
                        complete();
                        downstream.reset();
                    }
                    return;
                }
            }
        }
        if (nextFilter >= 0 && !completed) {
            if (held == null) {
                held = new ArrayDeque<>();
            }
            held.add(new HeldData(data, endStream));
        } else if (sink != null && !completed) {
            sink.data(data, endStream);
        } else {
            data.release();
        }
    }

    public void onRequestTrailers(Http2Headers trailers) {
        requestEnded = true;
        if (nextFilter >= 0 && !completed) {
            if (held == null) {
                held = new ArrayDeque<>();
            }
            held.add(trailers);
        } else if (sink != null && !completed) {
            sink.trailers(trailers);
        }
    }

    /** The downstream reset the stream or closed the connection. */
    public void onDownstreamReset() {
        if (completed) {
            return;
        }
        info.addFlag(ResponseFlag.DC);
        if (sink != null) {
            sink.cancel();
        }
        releaseHeld();
        complete();
    }

    public void onDownstreamWritabilityChanged(boolean writable) {
        if (sink != null && !completed) {
            sink.downstreamWritable(writable);
        }
    }

    // ---- response direction ----

    public void encodeHeaders(Http2Headers h, boolean endStream) {
        if (completed) {
            return;
        }
        for (HttpFilter f : filters) {
            f.onResponseHeaders(h, this);
        }
        responseStarted = true;
        grpcStatus(h);
        CharSequence status = h.status();
        if (status != null) {
            try {
                info.responseCode(Integer.parseInt(status.toString()));
            } catch (NumberFormatException e) {
                info.responseCode(0);
            }
        }
        downstream.sendHeaders(h, endStream);
        if (endStream) {
            responseEnded();
        }
    }

    public void encodeData(ByteBuf data, boolean endStream) {
        if (completed) {
            data.release();
            return;
        }
        touch();
        info.addBytesSent(data.readableBytes());
        downstream.sendData(data, endStream);
        if (endStream) {
            responseEnded();
        }
    }

    public void encodeTrailers(Http2Headers trailers) {
        if (completed) {
            return;
        }
        grpcStatus(trailers);
        downstream.sendTrailers(trailers);
        responseEnded();
    }

    /** Answers locally (no upstream involved, or before any upstream byte went downstream). */
    public void sendLocalReply(ErrorResponder.LocalReply r) {
        if (completed) {
            return;
        }
        responseStarted = true;
        // local replies pass the filters' response side too (CORS headers on a 401, say), as in Envoy
        for (HttpFilter f : filters) {
            f.onResponseHeaders(r.headers(), this);
        }
        grpcStatus(r.headers());
        if (r.endStreamWithHeaders()) {
            downstream.sendHeaders(r.headers(), true);
        } else {
            downstream.sendHeaders(r.headers(), false);
            info.addBytesSent(r.body().length);
            downstream.sendData(Unpooled.wrappedBuffer(r.body()), true);
        }
        responseEnded();
    }

    /**
     * A failure on the way: a response (through the {@link ErrorResponder}) if nothing was sent
     * yet, otherwise the downstream stream is reset.
     */
    public void fail(ResponseFlag flag, String detail) {
        if (completed) {
            return;
        }
        if (!responseStarted) {
            sendLocalReply(ErrorResponder.reply(flag, detail, info.grpc(), info));
        } else {
            info.addFlag(flag);
            info.detail(detail);
            complete();
            downstream.reset();
        }
    }

    private void grpcStatus(Http2Headers h) {
        CharSequence s = h.get("grpc-status");
        if (s != null) {
            info.grpcStatus(s.toString());
        }
    }

    private void responseEnded() {
        responseEnded = true;
        complete();
    }

    private void complete() {
        if (completed) {
            return;
        }
        completed = true;
        releaseHeld();
        if (requestTimer != null) {
            requestTimer.cancel(false);
        }
        if (idleTimer != null) {
            idleTimer.cancel(false);
        }
        info.end(hcm.nanoTime());
        try {
            hcm.observer().onComplete(info);
        } catch (RuntimeException e) {
            try (var mdc = dev.trellis.sidecar.observe.RequestMdc.of(info)) {
                log.warn("stream observer failed", e);
            }
        }
        if (log.isDebugEnabled()) {
            try (var mdc = dev.trellis.sidecar.observe.RequestMdc.of(info)) {
                log.debug("{}", info);
            }
        }
    }

    boolean responseEndedFlag() {
        return responseEnded;
    }
}
