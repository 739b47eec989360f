package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.http.HeaderConversion;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * One upstream HTTP/1.1 connection: turns the HTTP/2-shaped request into HTTP/1.1, and the
 * response back; after a {@code 101} it passes raw bytes both ways (WebSocket tunnel).
 */
final class Http1Connection extends ChannelDuplexHandler implements UpstreamStream {
    private final Http1ConnectionPool pool;
    private final Host host;
    private Channel channel;
    private UpstreamListener listener;
    private boolean requestDone;
    private boolean responseDone;
    private boolean keepAlive;
    private boolean chunked;
    private boolean tunnel;

    Http1Connection(Http1ConnectionPool pool, Host host) {
        this.pool = pool;
        this.host = host;
    }

    static Http1Connection of(Channel ch) {
        return ch.pipeline().get(Http1Connection.class);
    }

    Http1Connection start(UpstreamListener l) {
        this.listener = l;
        this.requestDone = false;
        this.responseDone = false;
        this.keepAlive = true;
        this.chunked = false;
        channel.config().setAutoRead(true);
        return this;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void writeHeaders(Http2Headers h, boolean endStream) {
        HttpMethod method = HttpMethod.valueOf(h.method().toString());
        HttpHeaders hh = HeaderConversion.toHttp1(h, HeaderConversion.newHttp1Headers());
        if (h.authority() != null) {
            hh.set("host", h.authority());
        }
        boolean upgrade = hh.contains("upgrade");
        if (upgrade) {
            hh.set("connection", "upgrade");
        }
        if (endStream) {
            if (!hh.contains("content-length") && (method.equals(HttpMethod.POST) || method.equals(HttpMethod.PUT)
                    || method.equals(HttpMethod.PATCH))) {
                hh.set("content-length", "0");
            }
        } else if (!hh.contains("content-length") && !upgrade) {
            hh.set("transfer-encoding", "chunked");
            chunked = true;
        }
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, h.path().toString(), hh);
        channel.write(req);
        if (endStream) {
            requestDone = true;
            channel.write(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        channel.flush();
    }

    @Override
    public void writeData(ByteBuf data, boolean endStream) {
        if (tunnel) {
            channel.writeAndFlush(data);
            return;
        }
        // shared empty trailers: DefaultLastHttpContent(data) would make a trailers map per request
        channel.writeAndFlush(endStream ? new DefaultLastHttpContent(data, EmptyHttpHeaders.INSTANCE)
                : new DefaultHttpContent(data));
        if (endStream) {
            requestDone = true;
            maybeRelease();
        }
    }

    @Override
    public void writeTrailers(Http2Headers trailers) {
        DefaultLastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
        if (chunked) {
            HeaderConversion.toHttp1(trailers, last.trailingHeaders());
        }
        channel.writeAndFlush(last);
        requestDone = true;
        maybeRelease();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public void setAutoRead(boolean autoRead) {
        channel.config().setAutoRead(autoRead);
    }

    @Override
    public void reset() {
        listener = null;
        channel.close();
    }

    @Override
    public Host host() {
        return host;
    }

    @Override
    public String protocol() {
        return "HTTP/1.1";
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamListener l = listener;
        if (l == null || responseDone) {
            ReferenceCountUtil.release(msg);
            if (!tunnel) {
                ctx.close();
            }
            return;
        }
        if (tunnel) {
            if (msg instanceof ByteBuf b) {
                l.onData(b, false);
            } else {
                ReferenceCountUtil.release(msg);
            }
            return;
        }
        if (msg instanceof HttpResponse r) {
            if (r.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                fail("upstream protocol error: " + r.decoderResult().cause().getMessage());
                return;
            }
            int code = r.status().code();
            if (code >= 100 && code < 200 && code != 101) {
                ReferenceCountUtil.release(msg);
                return;
            }
            keepAlive = HttpUtil.isKeepAlive(r);
            Http2Headers h = HeaderConversion.toHttp2(r.headers(), HeaderConversion.newHeaders(), code == 101);
            h.status(r.status().codeAsText());
            if (code == 101) {
                tunnel = true;
                l.onHeaders(h, false);
                ReferenceCountUtil.release(msg);
                ctx.pipeline().remove(HttpClientCodec.class);
                return;
            }
            l.onHeaders(h, false);
        }
        if (msg instanceof HttpContent c) {
            if (c.decoderResult().isFailure()) {
                c.release();
                fail("upstream protocol error: " + c.decoderResult().cause().getMessage());
                return;
            }
            if (msg instanceof LastHttpContent last) {
                responseDone = true;
                if (!last.trailingHeaders().isEmpty()) {
                    if (c.content().isReadable()) {
                        l.onData(c.content().retain(), false);
                    }
                    Http2Headers t = HeaderConversion.toHttp2(last.trailingHeaders(), HeaderConversion.newHeaders(), false);
                    c.release();
                    l.onTrailers(t);
                } else {
                    l.onData(c.content(), true);
                }
                maybeRelease();
            } else {
                l.onData(c.content(), false);
            }
        }
    }

    private void maybeRelease() {
        if (requestDone && responseDone && !tunnel) {
            listener = null;
            pool.release(channel, keepAlive);
        }
    }

    private void fail(String reason) {
        UpstreamListener l = listener;
        listener = null;
        channel.close();
        if (l != null) {
            l.onReset(reason);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        listener = null;
        if (l != null) {
            if (tunnel) {
                l.onData(Unpooled.EMPTY_BUFFER, true);
            } else if (!responseDone) {
                l.onReset("upstream connection closed");
            }
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        if (l != null) {
            l.onWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && listener == null) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail("upstream connection error: " + cause.getMessage());
    }
}
