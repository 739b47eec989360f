package dev.trellis.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import org.junit.jupiter.api.Test;

class HeaderConversionTest {
    @Test
    void http1ToHttp2DropsHopByHopKeepsTeTrailersAndSplitsCookies() {
        HttpHeaders in = HeaderConversion.newHttp1Headers()
                .add("Host", "h").add("Connection", "keep-alive, X-Private").add("X-Private", "1")
                .add("Keep-Alive", "5").add("Transfer-Encoding", "chunked").add("TE", "trailers, deflate")
                .add("Upgrade", "websocket").add("Cookie", "a=1; b=2").add("X-Kept", "k");
        Http2Headers h = HeaderConversion.toHttp2(in, HeaderConversion.newHeaders(), false);
        assertThat(h.getAll("cookie")).extracting(CharSequence::toString).containsExactly("a=1", "b=2");
        assertThat(h.get("te").toString()).isEqualTo("trailers");
        assertThat(h.get("x-kept").toString()).isEqualTo("k");
        assertThat(h.contains("host")).isFalse();
        assertThat(h.contains("x-private")).isFalse();
        assertThat(h.contains("keep-alive")).isFalse();
        assertThat(h.contains("transfer-encoding")).isFalse();
        assertThat(h.contains("upgrade")).isFalse();
        assertThat(HeaderConversion.toHttp2(in, HeaderConversion.newHeaders(), true).get("upgrade").toString()).isEqualTo("websocket");
    }

    @Test
    void decoderStyleAsciiStringNamesArriveLowerCasedAndTheInputIsLeftAsItWas() {
        AsciiString contentType = AsciiString.of("Content-Type");
        HttpHeaders in = HeaderConversion.newHttp1Headers()
                .add(contentType, "application/json").add(AsciiString.of("TE"), "Trailers")
                .add(AsciiString.of("Connection"), "X-Private").add(AsciiString.of("x-private"), "1");
        Http2Headers h = HeaderConversion.toHttp2(in, HeaderConversion.newHeaders(), false);
        assertThat(h.names()).extracting(CharSequence::toString).containsExactlyInAnyOrder("content-type", "te");
        assertThat(h.get("te").toString()).isEqualTo("trailers");
        assertThat(contentType.toString()).isEqualTo("Content-Type");

        HttpHeaders back = HeaderConversion.toHttp1(h, HeaderConversion.newHttp1Headers());
        assertThat(back.get("content-type")).isEqualTo("application/json");
        assertThat(back.get("te")).isEqualTo("trailers");
    }

    @Test
    void http2ToHttp1JoinsCookiesAndSkipsPseudoHeaders() {
        Http2Headers h = HeaderConversion.newHeaders().method("GET").path("/").authority("a").scheme("http");
        h.add("cookie", "a=1").add("cookie", "b=2").add("x-y", "z").add("connection", "close");
        HttpHeaders out = HeaderConversion.toHttp1(h, HeaderConversion.newHttp1Headers());
        assertThat(out.get("cookie")).isEqualTo("a=1; b=2");
        assertThat(out.get("x-y")).isEqualTo("z");
        assertThat(out.names()).noneMatch(n -> n.startsWith(":"));
        assertThat(out.contains("connection")).isFalse();
    }
}
