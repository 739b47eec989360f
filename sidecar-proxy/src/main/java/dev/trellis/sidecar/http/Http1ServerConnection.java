package dev.trellis.sidecar.http;

import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.StreamInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A downstream HTTP/1.1 connection: requests in order (pipelined ones wait, reading paused),
 * each as an {@link ActiveStream}; framing checks that the decoder leaves to us; keep-alive,
 * header-read timeout, and the switch to a raw tunnel after {@code 101}.
 */
public final class Http1ServerConnection extends ChannelDuplexHandler implements Downstream {
    private static final int BLOCK_BODY = 1;
    private static final int BLOCK_PIPELINE = 2;

    private final Supplier<HttpConnectionManager> hcms;
    private final int maxHeaders;
    private final Duration headersTimeout;
    private ChannelHandlerContext ctx;
    private final ArrayDeque<HttpObject> queued = new ArrayDeque<>();
    private ActiveStream active;
    private boolean receivingBody;
    private boolean skipEmptyLast;
    private boolean keepAlive;
    private boolean headRequest;
    private boolean chunkedResponse;
    private boolean responseInProgress;
    private boolean tunnel;
    private boolean closing;
    private int readBlockers;
    private HttpVersion version = HttpVersion.HTTP_1_1;
    private ScheduledFuture<?> headerTimer;

    public Http1ServerConnection(Supplier<HttpConnectionManager> hcms, int maxHeaders, Duration headersTimeout) {
        this.hcms = hcms;
        this.maxHeaders = maxHeaders;
        this.headersTimeout = headersTimeout;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        armHeaderTimer();
    }

    private void armHeaderTimer() {
        if (headersTimeout != null && headerTimer == null) {
            headerTimer = ctx.executor().schedule(() -> {
                headerTimer = null;
                if (active == null) {
                    protocolError("request_headers_timeout");
                    ctx.close();
                }
            }, headersTimeout.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void protocolError(String code) {
        HttpConnectionManager hcm = hcms.get();
        hcm.observer().onDownstreamProtocolError(hcm.listener(), code);
    }

    private void cancelHeaderTimer() {
        if (headerTimer != null) {
            headerTimer.cancel(false);
            headerTimer = null;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (tunnel) {
            if (active != null && msg instanceof ByteBuf b) {
                active.onRequestData(b, false);
            } else {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        if (!(msg instanceof HttpObject o)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if ((active != null && !receivingBody) || !queued.isEmpty()) {
            // a pipelined request: it waits until the current response is done
            queued.add(o);
            block(BLOCK_PIPELINE, true);
            return;
        }
        handle(o);
    }

    private void handle(HttpObject o) {
        if (o instanceof HttpRequest r) {
            onRequest(r);
        }
        if (o instanceof HttpContent c) {
            onContent(c);
        }
    }

    private void onRequest(HttpRequest r) {
        cancelHeaderTimer();
        version = r.protocolVersion();
        keepAlive = HttpUtil.isKeepAlive(r);
        if (r.decoderResult().isFailure()) {
            Throwable cause = r.decoderResult().cause();
            if (cause instanceof TooLongHttpLineException) {
                reject(414, "request_line_too_long", "bad request: " + cause.getMessage());
            } else if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
                reject(431, "headers_too_large", "bad request: " + cause.getMessage());
            } else {
                reject(400, decoderReason(cause), "bad request: " + cause.getMessage());
            }
            return;
        }
        Problem problem = framingProblem(r);
        if (problem != null) {
            reject(problem.status(), problem.code(), problem.message());
            return;
        }
        HttpConnectionManager hcm = hcms.get();
        HttpHeaders in = r.headers();
        boolean upgrade = isUpgrade(in);
        Http2Headers h = HeaderConversion.toHttp2(in, HeaderConversion.newHeaders(), upgrade);
        h.method(r.method().name());
        h.scheme(scheme().orElse(hcm.scheme()));
        String uri = r.uri();
        String authority = in.get("host");
        if (!uri.startsWith("/") && !uri.equals("*") && r.method() != HttpMethod.CONNECT) {
            try {
                URI u = new URI(uri);
                if (u.getRawAuthority() != null) {
                    authority = u.getRawAuthority();
                }
                uri = (u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath())
                        + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
            } catch (Exception e) {
                reject(400, "bad_request_target", "bad request target '" + uri + "'");
                return;
            }
        }
        if (r.method() == HttpMethod.CONNECT) {
            authority = uri;
        }
        h.path(uri);
        if (authority != null) {
            h.authority(authority);
        }
        headRequest = r.method().equals(HttpMethod.HEAD);
        boolean hasBody = HttpUtil.isTransferEncodingChunked(r) || HttpUtil.getContentLength(r, 0L) > 0;
        boolean endStream = !hasBody && !upgrade;
        skipEmptyLast = endStream || upgrade;
        receivingBody = !endStream;
        chunkedResponse = false;
        responseInProgress = true;
        active = hcm.newStream(this);
        active.onRequestHeaders(h, endStream);
    }

    /** The metrics reason for a head Netty's decoder refused (its messages are all we have to go on). */
    static String decoderReason(Throwable cause) {
        String m = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
        boolean cl = m.contains("content-length");
        boolean te = m.contains("transfer-encoding") || m.contains("transfer coding");
        if (cl && te) {
            return "content_length_and_transfer_encoding";
        } else if (cl && m.contains("multiple")) {
            return "duplicate_content_length";
        } else if (cl) {
            return "invalid_content_length";
        } else if (te) {
            return "unsupported_transfer_encoding";
        }
        return "malformed_head";
    }

    /** A request refused before it is forwarded: status, reason code for metrics, message for the client. */
    record Problem(int status, String code, String message) {}

    /** What Netty's decoder accepts but a proxy must not (request smuggling); null when none. */
    Problem framingProblem(HttpRequest r) {
        HttpHeaders h = r.headers();
        if (h.size() > maxHeaders) {
            return new Problem(431, "too_many_headers", "too many headers: " + h.size() + " (expected: <= " + maxHeaders + ")");
        }
        List<String> te = h.getAll("transfer-encoding");
        List<String> cl = h.getAll("content-length");
        if (!te.isEmpty() && !cl.isEmpty()) {
            return new Problem(400, "content_length_and_transfer_encoding", "both Transfer-Encoding and Content-Length");
        }
        if (te.size() > 1 || (te.size() == 1 && !te.get(0).trim().equalsIgnoreCase("chunked"))) {
            return new Problem(400, "unsupported_transfer_encoding", "unsupported Transfer-Encoding " + te);
        }
        if (cl.size() > 1) {
            return new Problem(400, "duplicate_content_length", "duplicate Content-Length");
        }
        if (r.protocolVersion().equals(HttpVersion.HTTP_1_1) && !h.contains("host")) {
            return new Problem(400, "missing_host", "missing Host header");
        }
        if (h.getAll("host").size() > 1) {
            return new Problem(400, "duplicate_host", "duplicate Host header");
        }
        return null;
    }

    private static boolean isUpgrade(HttpHeaders in) {
        String up = in.get("upgrade");
        if (up == null || up.equalsIgnoreCase("h2c")) {
            return false;
        }
        for (String v : in.getAll("connection")) {
            if (v.toLowerCase(Locale.ROOT).contains("upgrade")) {
                return true;
            }
        }
        return false;
    }

    private void onContent(HttpContent c) {
        if (closing) {
            // a full request whose head was already refused
            c.release();
            return;
        }
        if (c.decoderResult().isFailure()) {
            c.release();
            String why = "bad request body: " + c.decoderResult().cause().getMessage();
            boolean started = active != null && active.responseStarted();
            if (active != null && !active.completed()) {
                active.onDownstreamReset();
            }
            active = null;
            if (started) {
                closing = true;
                ctx.close();
            } else {
                reject(400, "malformed_body", why);
            }
            return;
        }
        if (active == null) {
            c.release();
            return;
        }
        if (c instanceof LastHttpContent last) {
            if (skipEmptyLast) {
                skipEmptyLast = false;
                last.release();
                return;
            }
            receivingBody = false;
            if (!last.trailingHeaders().isEmpty()) {
                if (last.content().isReadable()) {
                    active.onRequestData(last.content().retain(), false);
                }
                Http2Headers t = HeaderConversion.toHttp2(last.trailingHeaders(), HeaderConversion.newHeaders(), false);
                last.release();
                active.onRequestTrailers(t);
            } else {
                active.onRequestData(last.content(), true);
            }
        } else {
            active.onRequestData(c.content(), false);
        }
    }

    /** Answers a request that must not be forwarded, counts it under {@code code}, and closes the connection. */
    private void reject(int status, String code, String reason) {
        closing = true;
        protocolError(code);
        queued.forEach(ReferenceCountUtil::release);
        queued.clear();
        StreamInfo info = new StreamInfo(System.nanoTime());
        ErrorResponder.LocalReply r = ErrorResponder.plain(status, reason, info);
        r.headers().set("connection", "close");
        keepAlive = false;
        version = HttpVersion.HTTP_1_1;
        headRequest = false;
        sendHeaders(r.headers(), false);
        sendData(Unpooled.wrappedBuffer(r.body()), true);
    }

    // ---- Downstream ----

    @Override
    public EventLoop eventLoop() {
        return ctx.channel().eventLoop();
    }

    @Override
    public void sendHeaders(Http2Headers h, boolean endStream) {
        HttpResponseStatus status = HttpResponseStatus.parseLine(h.status());
        HttpHeaders out = HeaderConversion.toHttp1(h, HeaderConversion.newHttp1Headers());
        if (status.code() == 101) {
            out.set("connection", "upgrade");
            ctx.writeAndFlush(new DefaultHttpResponse(HttpVersion.HTTP_1_1, status, out));
            tunnel = true;
            Http1FramingGuard guard = ctx.pipeline().get(Http1FramingGuard.class);
            if (guard != null) {
                guard.passThrough();
            }
            ChannelHandler codec = ctx.pipeline().get(HttpServerCodec.class);
            if (codec != null) {
                ctx.pipeline().remove(codec);
            }
            return;
        }
        boolean noBody = headRequest || status.code() == 204 || status.code() == 304 || status.code() < 200;
        if (!out.contains("content-length") && !noBody) {
            if (endStream) {
                out.set("content-length", "0");
            } else if (version.equals(HttpVersion.HTTP_1_1)) {
                out.set("transfer-encoding", "chunked");
                chunkedResponse = true;
            } else {
                keepAlive = false;
            }
        }
        if (!keepAlive || closing) {
            out.set("connection", "close");
        } else if (version.equals(HttpVersion.HTTP_1_0)) {
            out.set("connection", "keep-alive");
        }
        ctx.write(new DefaultHttpResponse(version, status, out));
        if (endStream) {
            ctx.write(LastHttpContent.EMPTY_LAST_CONTENT);
            responseDone();
        }
        ctx.flush();
    }

    @Override
    public void sendData(ByteBuf data, boolean endStream) {
        if (tunnel) {
            if (data.isReadable()) {
                ctx.writeAndFlush(data);
            } else {
                data.release();
            }
            if (endStream) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
            return;
        }
        if (endStream) {
            // shared empty trailers: DefaultLastHttpContent(data) would make a trailers map per response
            ctx.writeAndFlush(new DefaultLastHttpContent(data, EmptyHttpHeaders.INSTANCE));
            responseDone();
        } else {
            ctx.writeAndFlush(new DefaultHttpContent(data));
        }
    }

    @Override
    public void sendTrailers(Http2Headers trailers) {
        DefaultLastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        if (chunkedResponse) {
            HeaderConversion.toHttp1(trailers, last.trailingHeaders());
        }
        ctx.writeAndFlush(last);
        responseDone();
    }

    private void responseDone() {
        responseInProgress = false;
        boolean bodyLeft = receivingBody;
        active = null;
        if (!keepAlive || closing || bodyLeft) {
            // a request body still coming cannot be told apart from the next request: close
            closing = true;
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        armHeaderTimer();
        ctx.executor().execute(this::drainQueue);
    }

    private void drainQueue() {
        while (!queued.isEmpty() && (active == null || receivingBody) && !closing) {
            handle(queued.poll());
        }
        if (queued.isEmpty()) {
            block(BLOCK_PIPELINE, false);
        }
    }

    @Override
    public void reset() {
        closing = true;
        ctx.close();
    }

    @Override
    public boolean isWritable() {
        return ctx.channel().isWritable();
    }

    @Override
    public void setAutoRead(boolean autoRead) {
        block(BLOCK_BODY, !autoRead);
    }

    private void block(int reason, boolean on) {
        int before = readBlockers;
        readBlockers = on ? readBlockers | reason : readBlockers & ~reason;
        if ((before == 0) != (readBlockers == 0)) {
            ctx.channel().config().setAutoRead(readBlockers == 0);
            if (readBlockers == 0) {
                ctx.read();
            }
        }
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a : null;
    }

    @Override
    public String protocol() {
        return version.text();
    }

    @Override
    public java.util.Optional<String> peerPrincipal() {
        return dev.trellis.certs.PeerIdentity.of(ctx.channel()).map(Object::toString);
    }

    @Override
    public java.util.Optional<String> scheme() {
        return java.util.Optional.of(ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null ? "https" : "http");
    }

    // ---- connection events ----

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelHeaderTimer();
        queued.forEach(ReferenceCountUtil::release);
        queued.clear();
        ActiveStream a = active;
        active = null;
        if (a != null) {
            a.onDownstreamReset();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (active != null) {
            active.onDownstreamWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (active == null && !responseInProgress) {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
