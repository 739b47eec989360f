package dev.trellis.sidecar.http;

import static dev.trellis.sidecar.testing.Embedded.ascii;
import static dev.trellis.sidecar.testing.Embedded.drain;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
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
    void obsTextAndUtf8InHeaderValuesPass() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024));
        byte[] head = "GET / HTTP/1.1\r\nX-Name: caf\u00e9 \u2713\r\nX-Latin1: \u00ff\r\n\r\n"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ch.writeInbound(io.netty.buffer.Unpooled.wrappedBuffer(head));
        io.netty.buffer.ByteBuf out = ch.readInbound();
        assertThat(io.netty.buffer.ByteBufUtil.getBytes(out)).isEqualTo(head);
        out.release();
        assertThat(ch.isOpen()).isTrue();
        assertThat(drain(ch)).isEmpty();
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

    /** Writes {@code s} one byte per buffer, until the guard closes the channel. */
    static void byteByByte(EmbeddedChannel ch, String s) {
        for (int i = 0; i < s.length() && ch.isOpen(); i++) {
            ch.writeInbound(ascii(s.substring(i, i + 1)));
        }
    }

    static final String PIPELINED = "\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\r\n \0\u0001"
            + "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3;name=\"v\"\r\n\r\n\t\r\nA ; x\r\n\u0000123456789\r\n0;last\r\nChecksum: 1\r\nT: 2\r\n\r\n"
            + "GET /c HTTP/1.1\r\n\r\n";

    @Test
    void headsSplitOneBytePerBufferAreFollowedAndChecked() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024));
        byteByByte(ch, PIPELINED);
        assertThat(passed(ch)).isEqualTo(PIPELINED);
        assertThat(ch.isOpen()).isTrue();
        byteByByte(ch, "GET / HTTP/1.1\r\nA: 1\r\n 2\r\n\r\n");
        assertThat(passed(ch)).isEqualTo("GET / HTTP/1.1\r\nA: 1\r\n");
        assertThat(drain(ch)).startsWith("HTTP/1.1 400");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void pipelinedRequestsInOneBufferAreFollowed() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024));
        ch.writeInbound(ascii(PIPELINED));
        assertThat(passed(ch)).isEqualTo(PIPELINED);
        assertThat(drain(ch)).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void headerNamesMatchInAnyCaseAndWithSpaceBeforeTheColon() {
        for (String head : List.of("cOnTeNt-LeNgTh: 3", "CONTENT-LENGTH:3", "Content-Length : 3", "Content-Length\t:  3 ")) {
            List<String> reasons = new ArrayList<>();
            EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024, reasons::add));
            // The body holds a control character; the next head holds one too.
            ch.writeInbound(ascii("POST / HTTP/1.1\r\n" + head + "\r\n\r\n\u0001\u0002\u0003GET / HTTP/1.1\r\nA: \u0001\r\n\r\n"));
            assertThat(reasons).as(head).containsExactly("control_character");
            ch.finishAndReleaseAll();
        }
        EmbeddedChannel te = new EmbeddedChannel(new Http1FramingGuard(1024));
        String chunked = "POST / HTTP/1.1\r\nTRANSFER-encoding : gzip, ChUnKeD\r\n\r\n1\r\n\u0001\r\n0\r\n\r\n";
        te.writeInbound(ascii(chunked));
        assertThat(passed(te)).isEqualTo(chunked);
        te.finishAndReleaseAll();
    }

    @Test
    void aControlCharacterInAValueAfterABodyIsRefused() {
        List<String> reasons = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024, reasons::add));
        ch.writeInbound(ascii("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"));
        ch.writeInbound(ascii("GET / HTTP/1.1\r\nUser-Agent: a\u007fb\r\n\r\n"));
        assertThat(passed(ch)).isEqualTo("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
        assertThat(reasons).containsExactly("control_character");
        assertThat(drain(ch)).startsWith("HTTP/1.1 400");
        ch.finishAndReleaseAll();
    }

    @Test
    void obsFoldAfterAChunkedBodyIsRefused() {
        String body = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\n\r\n\r\n0\r\nT: 1\r\n\r\n";
        for (String next : List.of("GET / HTTP/1.1\r\nA: 1\r\n\t2\r\n\r\n", "")) {
            List<String> reasons = new ArrayList<>();
            EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024, reasons::add));
            // Without a next head, the fold is in the trailers.
            String in = next.isEmpty() ? body.replace("T: 1\r\n", "T: 1\r\n 2\r\n") : body + next;
            ch.writeInbound(ascii(in));
            assertThat(reasons).as(next).containsExactly("obs_fold");
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void framingItCannotFollowIsPassedOn() {
        for (String head : List.of("Content-Length: -1\r\n\r\n", "Content-Length: 1x\r\n\r\n",
                "Content-Length: 99999999999999999999\r\n\r\n", "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
                "Transfer-Encoding: chunked\r\n\r\n-5\r\n", "Transfer-Encoding: chunked\r\n\r\n" + "0".repeat(1030))) {
            EmbeddedChannel ch = new EmbeddedChannel(new Http1FramingGuard(1024));
            String in = "POST / HTTP/1.1\r\n" + head + "GET / HTTP/1.1\r\nA: \u0001\r\n 2\r\n\r\n";
            ch.writeInbound(ascii(in));
            assertThat(passed(ch)).as(head).isEqualTo(in);
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void behavesAsTheStringVersionOnGeneratedTraffic() {
        Random r = new Random(20261202);
        for (int n = 0; n < 20_000; n++) {
            String in = traffic(r);
            int maxLine = new int[] {1, 2, 9, 20, 1024}[r.nextInt(5)];
            List<Integer> cuts = cuts(r, in.length());
            List<String> reasons = new ArrayList<>();
            List<String> expectedReasons = new ArrayList<>();
            String got = run(new Http1FramingGuard(maxLine, reasons::add), in, cuts);
            String expected = run(new StringFramingGuard(maxLine, expectedReasons::add), in, cuts);
            assertThat(got).as("maxLine %d, cuts %s, in %s", maxLine, cuts, in.replace("\r", "\\r").replace("\n", "\\n"))
                    .isEqualTo(expected);
            assertThat(reasons).isEqualTo(expectedReasons);
        }
    }

    private static String run(ChannelHandler guard, String in, List<Integer> cuts) {
        EmbeddedChannel ch = new EmbeddedChannel(guard);
        int from = 0;
        for (int cut : cuts) {
            if (!ch.isOpen()) {
                break;
            }
            ch.writeInbound(ascii(in.substring(from, cut)));
            from = cut;
        }
        String out = passed(ch) + "|" + drain(ch) + "|" + ch.isOpen();
        ch.finishAndReleaseAll();
        return out;
    }

    private static List<Integer> cuts(Random r, int length) {
        List<Integer> cuts = new ArrayList<>();
        int mode = r.nextInt(3);
        for (int i = 1; i < length; i++) {
            if (mode == 1 && r.nextInt(8) == 0 || mode == 2) {
                cuts.add(i);
            }
        }
        cuts.add(length);
        return cuts;
    }

    private static final String[] NAMES = {"Content-Length", "content-length", "CONTENT-LENGTH", "Content-Lengthx", "Content-Lengt",
        "Transfer-Encoding", "tRaNsFeR-eNcOdInG", "Transfer-Encodin", "Host", "c", "t", "", "\rContent-Length", "Content Length"};
    private static final String[] BEFORE_COLON = {"", "", "", " ", "\t", "\r", " \r ", ":", "x"};
    private static final String[] VALUES = {"5", "0", "12", " 3 ", "+2", "-1", "-0", "00", "x", "", "99999999999999999999",
        "9223372036854775807", "1 2", "3\r", "chunked", "gzip, chunked", " CHUNKED", "chunke", "cchunked", "identity", "a:b"};
    private static final String[] CHUNK_LINES = {"3", "3;ext=1", "  3  ", "0", "0;x", "A", "a ; q", "zz", "", "+1", "3 4",
        "-0", "1\r2", ";", "7fffffffffffffff", "8000000000000000", "0".repeat(1030), "1;" + "x".repeat(1030)};
    private static final String[] ODD = {"\u0001", "\u007f", "\u0080", "\u00e9", " ", "\t", "\r", "\n", "\r\n", ":", "x"};

    /** Heads, bodies and chunks near the edges of what the guard follows, with now and then a wrong byte. */
    private static String traffic(Random r) {
        StringBuilder sb = new StringBuilder();
        for (int m = r.nextInt(4) + 1; m > 0; m--) {
            if (r.nextInt(6) == 0) {
                sb.append(r.nextBoolean() ? "\r\n" : "\n");
            }
            sb.append(r.nextInt(8) == 0 ? " GET /\tx" : "POST /content-length:1 HTTP/1.1").append(eol(r));
            for (int h = r.nextInt(5); h > 0; h--) {
                if (r.nextInt(12) == 0) {
                    sb.append(pick(r, ODD));
                }
                sb.append(pick(r, NAMES)).append(pick(r, BEFORE_COLON)).append(':');
                sb.append(r.nextBoolean() ? " " : "").append(pick(r, VALUES));
                if (r.nextInt(12) == 0) {
                    sb.append(pick(r, ODD));
                }
                sb.append(eol(r));
            }
            sb.append(eol(r));
            if (r.nextBoolean()) {
                for (int c = r.nextInt(3); c >= 0; c--) {
                    String line = c == 0 && r.nextBoolean() ? "0" : pick(r, CHUNK_LINES);
                    sb.append(line).append(eol(r));
                    sb.append(bytes(r, r.nextInt(12))).append("\r\n");
                }
                for (int t = r.nextInt(3); t > 0; t--) {
                    sb.append(r.nextInt(6) == 0 ? pick(r, ODD) : "").append("T: 1").append(eol(r));
                }
                sb.append(eol(r));
            } else {
                sb.append(bytes(r, r.nextInt(14)));
            }
        }
        return sb.toString();
    }

    private static String eol(Random r) {
        return r.nextInt(6) == 0 ? "\n" : "\r\n";
    }

    private static String bytes(Random r, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(r.nextInt(3) == 0 ? pick(r, ODD) : "a");
        }
        return sb.toString();
    }

    private static String pick(Random r, String[] from) {
        return from[r.nextInt(from.length)];
    }
}
