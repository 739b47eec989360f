package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.cluster.Host;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;

/** One upstream HTTP/2 stream (a child channel of a pooled connection). */
final class Http2UpstreamStream extends ChannelInboundHandlerAdapter implements UpstreamStream {
    private final Host host;
    private UpstreamListener listener;
    private Channel channel;
    private boolean gotHeaders;
    private boolean ended;
    private long refusedBelow = -1;

    Http2UpstreamStream(Host host, UpstreamListener listener) {
        this.host = host;
        this.listener = listener;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void writeHeaders(Http2Headers headers, boolean endStream) {
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, endStream));
    }

    @Override
    public void writeData(ByteBuf data, boolean endStream) {
        channel.writeAndFlush(new DefaultHttp2DataFrame(data, endStream));
    }

    @Override
    public void writeTrailers(Http2Headers trailers) {
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true));
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
        return "HTTP/2";
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamListener l = listener;
        if (l == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Http2HeadersFrame hf) {
            if (!gotHeaders) {
                CharSequence status = hf.headers().status();
                if (status != null && status.length() == 3 && status.charAt(0) == '1') {
                    return;
                }
                gotHeaders = true;
                if (hf.isEndStream()) {
                    ended = true;
                }
                l.onHeaders(hf.headers(), hf.isEndStream());
            } else {
                ended = true;
                l.onTrailers(hf.headers());
            }
        } else if (msg instanceof Http2DataFrame df) {
            if (df.isEndStream()) {
                ended = true;
            }
            l.onData(df.content(), df.isEndStream());
        } else if (msg instanceof Http2ResetFrame rf) {
            listener = null;
            ended = true;
            io.netty.handler.codec.http2.Http2Error e = io.netty.handler.codec.http2.Http2Error.valueOf(rf.errorCode());
            l.onReset("upstream reset stream: " + (e != null ? e.name() : Long.toString(rf.errorCode())));
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        listener = null;
        if (l != null && !ended) {
            // above a GOAWAY's last-stream-id the upstream did not process the stream (RFC 9113 6.8)
            refusedBelow = Math.max(refusedBelow, refusedBy(ctx.channel()));
            l.onReset(refusedBelow >= 0 ? "upstream refused the stream: GOAWAY with last-stream-id " + refusedBelow
                    : "upstream stream closed");
        }
    }

    /** The GOAWAY last-stream-id that excludes this stream, or -1. */
    private static long refusedBy(Channel ch) {
        if (!(ch instanceof Http2StreamChannel sc) || sc.stream().id() <= 0) {
            return -1;
        }
        Http2FrameCodec codec = sc.parent().pipeline().get(Http2FrameCodec.class);
        if (codec == null || !codec.connection().goAwayReceived()) {
            return -1;
        }
        int last = codec.connection().local().lastStreamKnownByPeer();
        return sc.stream().id() > last ? last : -1;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2GoAwayFrame g) {
            refusedBelow = g.lastStreamId();
            g.release();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        if (l != null) {
            l.onWritabilityChanged(ctx.channel().isWritable());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
