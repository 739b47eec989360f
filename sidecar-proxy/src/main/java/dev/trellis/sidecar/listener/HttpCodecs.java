package dev.trellis.sidecar.listener;

import dev.trellis.sidecar.config.HttpConnectionManagerConfig;
import dev.trellis.sidecar.http.HttpConnectionManager;
import dev.trellis.sidecar.http.Http1ServerConnection;
import dev.trellis.sidecar.http.Http2ServerStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.function.Supplier;

/** Installs the downstream HTTP/1.1 or HTTP/2 codec and the connection manager's handlers. */
public final class HttpCodecs {
    /** RST_STREAM frames a client may send per window before GOAWAY (rapid reset). */
    public static final int MAX_RST_PER_WINDOW = 200;
    public static final int RST_WINDOW_SECONDS = 30;
    /** CONTINUATION frames smaller than 8 KiB tolerated per header block before GOAWAY. */
    public static final int MAX_SMALL_CONTINUATIONS = 16;

    private HttpCodecs() {}

    public static void http1(ChannelPipeline p, HttpConnectionManagerConfig c, Supplier<HttpConnectionManager> hcms) {
        HttpDecoderConfig dc = new HttpDecoderConfig()
                .setMaxInitialLineLength(c.maxRequestHeadersBytes())
                .setMaxHeaderSize(c.maxRequestHeadersBytes())
                .setMaxChunkSize(64 * 1024)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true)
                .setAllowDuplicateContentLengths(false)
                .setHeadersFactory(DefaultHttpHeadersFactory.headersFactory().withValidation(true).withValueValidation(true))
                .setTrailersFactory(DefaultHttpHeadersFactory.trailersFactory().withValidation(true).withValueValidation(true));
        p.addLast("http1-guard", new dev.trellis.sidecar.http.Http1FramingGuard(c.maxRequestHeadersBytes(),
                reason -> protocolError(hcms, reason)));
        p.addLast("http1-codec", new HttpServerCodec(dc));
        p.addLast("expect-continue", new HttpServerExpectContinueHandler());
        p.addLast("http1", new Http1ServerConnection(hcms, c.maxHeadersCount(), c.requestHeadersTimeout().orElse(null)));
    }

    public static void http2(ChannelPipeline p, HttpConnectionManagerConfig c, Supplier<HttpConnectionManager> hcms) {
        Http2Settings settings = Http2Settings.defaultSettings()
                .maxConcurrentStreams(c.maxConcurrentStreams())
                .maxHeaderListSize(c.maxRequestHeadersBytes());
        p.addLast("h2-codec", Http2FrameCodecBuilder.forServer()
                .initialSettings(settings)
                .decoderEnforceMaxRstFramesPerWindow(MAX_RST_PER_WINDOW, RST_WINDOW_SECONDS)
                .decoderEnforceMaxSmallContinuationFrames(MAX_SMALL_CONTINUATIONS)
                .decoderEnforceMaxConsecutiveEmptyDataFrames(2)
                .build());
        int maxHeaders = c.maxHeadersCount();
        p.addLast("h2-mux", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast(new Http2ServerStream(hcms, maxHeaders));
            }
        }));
        p.addLast("h2-idle", new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof IdleStateEvent) {
                    ctx.close();
                    return;
                }
                ctx.fireUserEventTriggered(evt);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                // the codec answers a connection error with GOAWAY and closes right after this event
                if (cause instanceof Http2Exception e && !(e instanceof Http2Exception.StreamException)) {
                    protocolError(hcms, "h2_" + e.error().name().toLowerCase(java.util.Locale.ROOT));
                    return;
                }
                ctx.fireExceptionCaught(cause);
            }
        });
    }

    private static void protocolError(Supplier<HttpConnectionManager> hcms, String reason) {
        HttpConnectionManager hcm = hcms.get();
        hcm.observer().onDownstreamProtocolError(hcm.listener(), reason);
    }
}
