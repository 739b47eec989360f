package dev.trellis.sidecar.http;

import static dev.trellis.sidecar.testing.Embedded.ascii;
import static dev.trellis.sidecar.testing.Embedded.drain;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.listener.HttpCodecs;
import dev.trellis.sidecar.testing.Embedded;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class Http1ServerConnectionTest {
    final Embedded e = new Embedded("");

    EmbeddedChannel channel() {
        EmbeddedChannel ch = new EmbeddedChannel();
        HttpCodecs.http1(ch.pipeline(), e.hcm.config(), () -> e.hcm);
        return ch;
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(ascii("GET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"));
        ch.runPendingTasks();
        String out = drain(ch);
        assertThat(out.indexOf("201 Created")).isLessThan(out.indexOf("200 OK"));
        assertThat(out.lastIndexOf("201 Created")).isGreaterThan(out.indexOf("200 OK"));
        assertThat(e.finished).hasSize(3);
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void bothLengthAndChunkedIs400AndClose() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(ascii("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
        ch.runPendingTasks();
        assertThat(drain(ch)).startsWith("HTTP/1.1 400").contains("connection: close");
        assertThat(ch.isOpen()).isFalse();
        assertThat(e.finished).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void obsFoldIsRefusedBeforeTheDecoder() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(ascii("GET /a HTTP/1.1\r\nHost: h\r\nX: 1\r\n 2\r\n\r\n"));
        assertThat(drain(ch)).startsWith("HTTP/1.1 400");
        assertThat(ch.isOpen()).isFalse();
        assertThat(e.finished).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void tooManyHeadersIs431() {
        EmbeddedChannel ch = channel();
        StringBuilder sb = new StringBuilder("GET /a HTTP/1.1\r\nHost: h\r\n");
        for (int i = 0; i < 100; i++) {
            sb.append("x").append(i).append(": v\r\n");
        }
        ch.writeInbound(ascii(sb.append("\r\n").toString()));
        assertThat(drain(ch)).startsWith("HTTP/1.1 431");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void connectIs405AndUnknownRouteIs404NR() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(ascii("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"));
        ch.runPendingTasks();
        assertThat(drain(ch)).startsWith("HTTP/1.1 405");
        ch.writeInbound(ascii("GET /zzz HTTP/1.1\r\nHost: h\r\n\r\n"));
        ch.runPendingTasks();
        assertThat(drain(ch)).startsWith("HTTP/1.1 404").contains("x-trellis-response-flags: NR");
        assertThat(e.finished.get(1).flags()).containsExactly(ResponseFlag.NR);
        ch.finishAndReleaseAll();
    }

    @Test
    void http10WithoutKeepAliveCloses() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(ascii("GET /a HTTP/1.0\r\n\r\n"));
        ch.runPendingTasks();
        assertThat(drain(ch)).startsWith("HTTP/1.0 200").contains("connection: close").endsWith("A");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }
}
