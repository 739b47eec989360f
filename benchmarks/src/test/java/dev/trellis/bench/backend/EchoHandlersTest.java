package dev.trellis.bench.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2WindowUpdateFrame;
import io.netty.handler.codec.http.HttpServerCodec;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The echo backend's handlers on {@link EmbeddedChannel}. */
class EchoHandlersTest {

    private static final class Stream implements Http2FrameStream {
        private final int id;

        Stream(int id) {
            this.id = id;
        }

        @Override
        public int id() {
            return id;
        }

        @Override
        public Http2Stream.State state() {
            return Http2Stream.State.OPEN;
        }
    }

    @Test
    void http1EchoesTheBodyAndKeepsTheConnection() {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpObjectAggregator(1024), new Http1EchoHandler());
        DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/echo",
                Unpooled.copiedBuffer("hello", StandardCharsets.UTF_8));
        ch.writeInbound(req);

        FullHttpResponse res = ch.readOutbound();
        try {
            assertThat(res.status().code()).isEqualTo(200);
            assertThat(res.content().toString(StandardCharsets.UTF_8)).isEqualTo("hello");
            assertThat(res.headers().getInt(HttpHeaderNames.CONTENT_LENGTH)).isEqualTo(5);
            assertThat(ch.isOpen()).isTrue();
        } finally {
            res.release();
        }
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void http1ClosesWhenTheClientAsksTo() {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpObjectAggregator(1024), new Http1EchoHandler());
        DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        req.headers().set(HttpHeaderNames.CONNECTION, "close");
        ch.writeInbound(req);

        FullHttpResponse res = ch.readOutbound();
        assertThat(res.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        res.release();
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void detectorPicksHttp1ForAnythingButThePreface() {
        EmbeddedChannel ch = new EmbeddedChannel(new ProtocolDetector(1024));
        ch.writeInbound(Unpooled.copiedBuffer("POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", StandardCharsets.US_ASCII));
        assertThat(ch.pipeline().get(HttpServerCodec.class)).isNotNull();
        assertThat(ch.pipeline().get(ProtocolDetector.class)).isNull();
        ByteBuf out = ch.readOutbound();
        String text = out.toString(StandardCharsets.US_ASCII);
        out.release();
        ch.finishAndReleaseAll();
        assertThat(text).startsWith("HTTP/1.1 200 OK");
    }

    @Test
    void detectorWaitsForTheWholePrefaceThenPicksHttp2() {
        EmbeddedChannel ch = new EmbeddedChannel(new ProtocolDetector(1024));
        ch.writeInbound(Unpooled.copiedBuffer("PRI * HTTP/2.0\r\n", StandardCharsets.US_ASCII));
        assertThat(ch.pipeline().get(ProtocolDetector.class)).isNotNull();
        ch.writeInbound(Unpooled.copiedBuffer("\r\nSM\r\n\r\n", StandardCharsets.US_ASCII));
        assertThat(ch.pipeline().get(ProtocolDetector.class)).isNull();
        assertThat(ch.pipeline().get(H2EchoHandler.class)).isNotNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void h2EchoesAPlainStream() {
        EmbeddedChannel ch = new EmbeddedChannel(new H2EchoHandler(1024));
        Stream s = new Stream(3);
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST").path("/echo"), false).stream(s));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("ab", StandardCharsets.UTF_8), false).stream(s));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("cd", StandardCharsets.UTF_8), true).stream(s));

        Http2WindowUpdateFrame w1 = ch.readOutbound();
        Http2WindowUpdateFrame w2 = ch.readOutbound();
        assertThat(w1.windowSizeIncrement() + w2.windowSizeIncrement()).isEqualTo(4);
        Http2HeadersFrame h = ch.readOutbound();
        assertThat(h.headers().status().toString()).isEqualTo("200");
        assertThat(h.headers().getInt("content-length")).isEqualTo(4);
        assertThat(h.isEndStream()).isFalse();
        Http2DataFrame d = ch.readOutbound();
        assertThat(d.content().toString(StandardCharsets.UTF_8)).isEqualTo("abcd");
        assertThat(d.isEndStream()).isTrue();
        assertThat(d.stream()).isSameAs(s);
        d.release();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void h2AnswersGrpcWithTheMessageAndOkTrailers() {
        EmbeddedChannel ch = new EmbeddedChannel(new H2EchoHandler(1024));
        Stream s = new Stream(5);
        byte[] message = {0, 0, 0, 0, 2, 10, 0};
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST")
                .path("/trellis.bench.v1.Echo/Echo").set("content-type", "application/grpc+proto"), false).stream(s));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(message), true).stream(s));

        Http2WindowUpdateFrame w = ch.readOutbound();
        assertThat(w.windowSizeIncrement()).isEqualTo(message.length);
        Http2HeadersFrame h = ch.readOutbound();
        assertThat(h.headers().get("content-type").toString()).isEqualTo("application/grpc");
        Http2DataFrame d = ch.readOutbound();
        byte[] echoed = new byte[d.content().readableBytes()];
        d.content().readBytes(echoed);
        d.release();
        assertThat(echoed).isEqualTo(message);
        assertThat(d.isEndStream()).isFalse();
        Http2HeadersFrame trailers = ch.readOutbound();
        assertThat(trailers.headers().getInt("grpc-status")).isZero();
        assertThat(trailers.isEndStream()).isTrue();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void h2RefusesBodiesOverTheLimitAndReleasesThem() {
        EmbeddedChannel ch = new EmbeddedChannel(new H2EchoHandler(4));
        Stream s = new Stream(7);
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST"), false).stream(s));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("abc", StandardCharsets.UTF_8), false).stream(s));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("def", StandardCharsets.UTF_8), true).stream(s));
        ch.readOutbound();
        ch.readOutbound();
        Http2HeadersFrame h = ch.readOutbound();
        assertThat(h.headers().status().toString()).isEqualTo("413");
        assertThat(h.isEndStream()).isTrue();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void h2ReleasesAResetStreamsBody() {
        EmbeddedChannel ch = new EmbeddedChannel(new H2EchoHandler(1024));
        Stream s = new Stream(9);
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST"), false).stream(s));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("abc", StandardCharsets.UTF_8), false).stream(s));
        ch.writeInbound(new DefaultHttp2ResetFrame(Http2Error.CANCEL).stream(s));
        ch.readOutbound(); // window update
        assertThat(ch.<Object>readOutbound()).isNull();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }
}
