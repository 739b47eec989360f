package dev.trellis.sidecar.http;

import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.StreamInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.function.Supplier;

/** One downstream HTTP/2 stream (a child channel of the connection) as an {@link ActiveStream}. */
public final class Http2ServerStream extends ChannelInboundHandlerAdapter implements Downstream {
    private final Supplier<HttpConnectionManager> hcms;
    private final int maxHeaders;
    private Channel channel;
    private ActiveStream active;
    private boolean ended;

    public Http2ServerStream(Supplier<HttpConnectionManager> hcms, int maxHeaders) {
        this.hcms = hcms;
        this.maxHeaders = maxHeaders;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame hf) {
            if (active == null) {
                if (hf.headers().size() > maxHeaders) {
                    HttpConnectionManager hcm = hcms.get();
                    hcm.observer().onDownstreamProtocolError(hcm.listener(), "too_many_headers");
                    StreamInfo info = new StreamInfo(System.nanoTime());
                    ErrorResponder.LocalReply r = ErrorResponder.plain(431, "too many headers: " + hf.headers().size()
                            + " (expected: <= " + maxHeaders + ")", info);
                    sendHeaders(r.headers(), false);
                    sendData(Unpooled.wrappedBuffer(r.body()), true);
                    return;
                }
                active = hcms.get().newStream(this);
                active.onRequestHeaders(hf.headers(), hf.isEndStream());
            } else {
                active.onRequestTrailers(hf.headers());
            }
        } else if (msg instanceof Http2DataFrame df) {
            if (active != null) {
                active.onRequestData(df.content(), df.isEndStream());
            } else {
                df.release();
            }
        } else if (msg instanceof Http2ResetFrame) {
            if (active != null) {
                active.onDownstreamReset();
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (active != null && !active.completed()) {
            active.onDownstreamReset();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (active != null) {
            active.onDownstreamWritabilityChanged(ctx.channel().isWritable());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    @Override
    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    @Override
    public void sendHeaders(Http2Headers headers, boolean endStream) {
        ended |= endStream;
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, endStream));
    }

    @Override
    public void sendData(ByteBuf data, boolean endStream) {
        ended |= endStream;
        channel.writeAndFlush(new DefaultHttp2DataFrame(data, endStream));
    }

    @Override
    public void sendTrailers(Http2Headers trailers) {
        ended = true;
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true));
    }

    @Override
    public void reset() {
        channel.close();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public void setAutoRead(boolean autoRead) {
        channel.config().setAutoRead(autoRead);
        if (autoRead) {
            channel.read();
        }
    }

    @Override
    public InetSocketAddress remoteAddress() {
        Channel parent = channel instanceof Http2StreamChannel s ? s.parent() : channel;
        return parent.remoteAddress() instanceof InetSocketAddress a ? a : null;
    }

    @Override
    public String protocol() {
        return "HTTP/2";
    }

    @Override
    public java.util.Optional<String> peerPrincipal() {
        return dev.trellis.certs.PeerIdentity.of(channel).map(Object::toString);
    }

    @Override
    public java.util.Optional<String> scheme() {
        Channel connection = channel instanceof Http2StreamChannel s ? s.parent() : channel;
        return java.util.Optional.of(connection.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null ? "https" : "http");
    }
}
