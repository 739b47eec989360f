package dev.trellis.sidecar.http;

import static dev.trellis.sidecar.testing.Embedded.ascii;
import static dev.trellis.sidecar.testing.Embedded.drain;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Http1FramingGuardTest {
    static String passed(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readInbound()) != null) {
            sb.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return sb.toString();
    }

    @Test
    void bodiesMayContainAnythingAndPipelinedHeadsAreStillChecked() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024));
        String ok = "POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\n\r\n x\0y"
                + "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\r\n \t\r\n0\r\nT: 1\r\n\r\n";
        ch.writeInbound(ascii(ok));
        assertThat(passed(ch)).isEqualTo(ok);
        assertThat(drain(ch)).isEmpty();
        ch.writeInbound(ascii("GET / HTTP/1.1\r\nA: 1\r\n\t2\r\n\r\n"));
        assertThat(passed(ch)).isEmpty();
        assertThat(drain(ch)).startsWith("HTTP/1.1 400");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void controlCharactersInTheHeadAreRefusedEvenAcrossReads() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024));
        ch.writeInbound(ascii("GET / HTTP/1.1\r\nA: x"));
        ch.writeInbound(ascii("\u0007y\r\n\r\n"));
        assertThat(drain(ch)).startsWith("HTTP/1.1 400");
        ch.finishAndReleaseAll();
    }

    @Test
    void eachRefusalIsReportedWithItsReason() {
        java.util.List<String> reasons = new java.util.ArrayList<>();
        EmbeddedChannel fold = new EmbeddedChannel(new Http1FramingGuard(1024, reasons::add));
        fold.writeInbound(ascii("GET / HTTP/1.1\r\nA: 1\r\n 2\r\n\r\n"));
        EmbeddedChannel ctl = new EmbeddedChannel(new Http1FramingGuard(1024, reasons::add));
        ctl.writeInbound(ascii("GET / HTTP/1.1\r\nA\u0000: 1\r\n\r\n"));
        assertThat(reasons).containsExactly("obs_fold", "control_character");
        fold.finishAndReleaseAll();
        ctl.finishAndReleaseAll();
    }

    @Test
    void tunnelBytesPassUnchecked() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024));
        Http1FramingGuard g = ch.pipeline().get(Http1FramingGuard.class);
        g.passThrough();
        ch.writeInbound(ascii("\r\n \u0000binary"));
        assertThat(passed(ch)).isEqualTo("\r\n \u0000binary");
        ch.finishAndReleaseAll();
    }
}
