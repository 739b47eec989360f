package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.Raw;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Untrusted input: each malformed request is refused, the connection closed, nothing forwarded. */
class HardeningTest {
    static Backend backend;
    static Proxy proxy;

    @BeforeAll
    static void start() throws Exception {
        backend = new Backend("b");
        String noRouteTimeout = j("{'match': {'prefix': '/'}, 'route': {'cluster': 'b', 'timeout': '0s'}}");
        proxy = Proxy.start(bootstrap(listener("main", j("'request_headers_timeout': '0.5s'"), vhost(route("/", "b")))
                        + "," + listener("timeouts", j("'request_timeout': '0.5s', 'stream_idle_timeout': '0.7s', 'common_http_protocol_options': {'idle_timeout': '0.5s'}"), vhost(noRouteTimeout)),
                cluster("b", "", backend.port())));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        backend.close();
    }

    static String exchange(String request) throws IOException {
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send(request);
            return raw.readUntilClose(5000);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "CL and TE|POST / HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n|400|content_length_and_transfer_encoding",
            "duplicate CL|POST / HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 5\\r\\nContent-Length: 5\\r\\n\\r\\nhello|400|duplicate_content_length",
            "different CL|POST / HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello|400|duplicate_content_length",
            "invalid CL|POST / HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: 5x\\r\\n\\r\\nhello|400|invalid_content_length",
            "negative CL|POST / HTTP/1.1\\r\\nHost: h\\r\\nContent-Length: -1\\r\\n\\r\\n|400|invalid_content_length",
            "bad chunk size|POST / HTTP/1.1\\r\\nHost: h\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nhello\\r\\n0\\r\\n\\r\\n|400|malformed_body",
            "TE not chunked|POST / HTTP/1.1\\r\\nHost: h\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\n|400|unsupported_transfer_encoding",
            "obs-fold|GET / HTTP/1.1\\r\\nHost: h\\r\\nX-A: one\\r\\n two\\r\\n\\r\\n|400|obs_fold",
            "NUL in value|GET / HTTP/1.1\\r\\nHost: h\\r\\nX-A: a\\u0000b\\r\\n\\r\\n|400|control_character",
            "control char in name|GET / HTTP/1.1\\r\\nHost: h\\r\\nX\\u0001A: a\\r\\n\\r\\n|400|control_character",
            "space before colon|GET / HTTP/1.1\\r\\nHost: h\\r\\nX-A : a\\r\\n\\r\\n|400|malformed_head",
            "missing host|GET / HTTP/1.1\\r\\n\\r\\n|400|missing_host",
            "bare LF|GET / HTTP/1.1\\nHost: h\\n\\n|400|malformed_head",
    })
    void malformedRequestIs400AndClosedAndNotForwarded(String name, String request, int status, String reason) throws IOException {
        int before = backend.requests.get();
        double counted = protocolErrors(reason);
        String raw = request.replace("\\r", "\r").replace("\\n", "\n").replace("\\u0000", "\u0000").replace("\\u0001", "\u0001");
        String resp = exchange(raw);
        assertThat(resp).as(name).startsWith("HTTP/1.1 " + status).doesNotEndWith("<still open>");
        assertThat(backend.requests.get()).as(name + ": forwarded").isEqualTo(before);
        assertThat(protocolErrors(reason)).as(name + ": counted as " + reason + " in " + protocolErrorLines() + " after " + resp).isEqualTo(counted + 1);
    }

    @Test
    void utf8InAHeaderValueIsForwardedByteForByte() throws IOException {
        String resp;
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("GET /echo HTTP/1.1\r\nHost: h\r\nX-Name: caf\u00e9 \u2713\r\nConnection: close\r\n\r\n"
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            resp = raw.readUntilClose(5000);
        }
        assertThat(resp).startsWith("HTTP/1.1 200");
        // Raw reads Latin-1 and the JDK backend echoes the header's bytes as Latin-1 characters in UTF-8
        String body = new String(resp.substring(resp.indexOf("\r\n\r\n") + 4).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                java.nio.charset.StandardCharsets.UTF_8);
        String value = Backend.echoedHeaders(body).get("x-name");
        assertThat(new String(value.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("caf\u00e9 \u2713");
    }

    @Test
    void theEventLoopWatchdogRunsAndCountsStalls() {
        assertThat(Thread.getAllStackTraces().keySet()).anyMatch(t -> t.getName().equals("trellis-watchdog") && t.isAlive());
        assertThat(proxy.sidecar.metrics().scrape().lines())
                .anyMatch(l -> l.startsWith("trellis_event_loop_stalls_total "));
    }

    @Test
    void theWatchdogSettingIsCheckedNamingIt() {
        try {
            System.setProperty(Sidecar.WATCHDOG_PROPERTY, "soon");
            org.assertj.core.api.Assertions.assertThatThrownBy(Sidecar::watchdogMissTimeout)
                    .hasMessage("trellis.watchdog.missTimeout: 'soon' (expected: a duration such as 200ms, or 0 for off)");
            org.assertj.core.api.Assertions.assertThatThrownBy(Sidecar::checkJvmProperties).hasMessageStartingWith("trellis.watchdog.missTimeout: 'soon'");
            System.setProperty(Sidecar.WATCHDOG_PROPERTY, "-1s");
            org.assertj.core.api.Assertions.assertThatThrownBy(Sidecar::watchdogMissTimeout).hasMessageContaining("'-1s'");
            System.setProperty(Sidecar.WATCHDOG_PROPERTY, "0");
            assertThat(Sidecar.watchdogMissTimeout()).isZero();
            System.setProperty(Sidecar.WATCHDOG_PROPERTY, "50ms");
            assertThat(Sidecar.watchdogMissTimeout()).isEqualTo(java.time.Duration.ofMillis(50));
        } finally {
            System.clearProperty(Sidecar.WATCHDOG_PROPERTY);
        }
        assertThat(Sidecar.watchdogMissTimeout()).isEqualTo(java.time.Duration.ofMillis(200));
    }

    /** {@code trellis_downstream_protocol_errors_total} for {@code reason} on listener 'main' or 'timeouts'. */
    static double protocolErrors(String reason) {
        return proxy.sidecar.metrics().registry().find("trellis_downstream_protocol_errors").tag("reason", reason)
                .counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
    }

    static String protocolErrorLines() {
        return proxy.sidecar.metrics().scrape().lines().filter(l -> l.startsWith("trellis_downstream_protocol_errors_total"))
                .toList().toString();
    }

    @Test
    void tooManyHeadersIs431() throws IOException {
        double counted = protocolErrors("too_many_headers");
        StringBuilder sb = new StringBuilder("GET / HTTP/1.1\r\nHost: h\r\n");
        for (int i = 0; i < 101; i++) {
            sb.append("x-h").append(i).append(": v\r\n");
        }
        assertThat(exchange(sb.append("\r\n").toString())).startsWith("HTTP/1.1 431");
        assertThat(protocolErrors("too_many_headers")).isEqualTo(counted + 1);
    }

    @Test
    void headersOver60KiBAre431() throws IOException {
        double counted = protocolErrors("headers_too_large");
        String big = "GET / HTTP/1.1\r\nHost: h\r\nx-big: " + "a".repeat(61 * 1024) + "\r\n\r\n";
        assertThat(exchange(big)).startsWith("HTTP/1.1 431");
        assertThat(protocolErrors("headers_too_large")).isEqualTo(counted + 1);
    }

    @Test
    void slowHeadersAreCutOffByRequestHeadersTimeout() throws IOException {
        double counted = protocolErrors("request_headers_timeout");
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("GET / HTTP/1.1\r\nHost: h\r\n");
            long t0 = System.nanoTime();
            String resp = raw.readUntilClose(5000);
            assertThat(resp).doesNotContain("<still open>");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
        }
        assertThat(protocolErrors("request_headers_timeout")).isEqualTo(counted + 1);
    }

    @Test
    void idleKeepAliveConnectionsAreClosedAfterIdleTimeout() throws IOException {
        try (Raw raw = new Raw(proxy.port("timeouts"))) {
            raw.send("GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
            long t0 = System.nanoTime();
            String resp = raw.readUntilClose(5000);
            assertThat(resp).startsWith("HTTP/1.1 200").doesNotEndWith("<still open>");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
        }
    }

    @Test
    void requestTimeoutIs408WhenTheBodyIsSlow() throws IOException {
        try (Raw raw = new Raw(proxy.port("timeouts"))) {
            raw.send("POST /sink HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello");
            long t0 = System.nanoTime();
            String resp = raw.readUntilClose(5000);
            assertThat(resp).startsWith("HTTP/1.1 408").contains("request timeout");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
        }
    }

    @Test
    void streamIdleTimeoutIs408WhenNothingMoves() throws IOException {
        try (Raw raw = new Raw(proxy.port("timeouts"))) {
            raw.send("GET /slow?ms=4000 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            long t0 = System.nanoTime();
            String resp = raw.readUntilClose(5000);
            assertThat(resp).startsWith("HTTP/1.1 408").contains("stream idle timeout")
                    .containsIgnoringCase("x-trellis-response-flags: SI");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
        }
    }

    // ---- HTTP/2 ----

    static byte[] frame(int type, int flags, int stream, byte[] payload) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(payload.length >>> 16);
        o.write(payload.length >>> 8);
        o.write(payload.length);
        o.write(type);
        o.write(flags);
        o.write(stream >>> 24);
        o.write(stream >>> 16);
        o.write(stream >>> 8);
        o.write(stream);
        o.writeBytes(payload);
        return o.toByteArray();
    }

    /** A HEADERS block with literal-without-indexing fields (HPACK, no Huffman). */
    static byte[] hpack(String... nv) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (int i = 0; i < nv.length; i += 2) {
            o.write(0x00);
            o.write(nv[i].length());
            o.writeBytes(nv[i].getBytes());
            o.write(nv[i + 1].length());
            o.writeBytes(nv[i + 1].getBytes());
        }
        return o.toByteArray();
    }

    static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes();

    /** Reads frames until GOAWAY (returns true) or the connection closes / times out. */
    static boolean sawGoAway(Raw raw) throws IOException {
        raw.socket.setSoTimeout(5000);
        DataInputStream in = new DataInputStream(raw.socket.getInputStream());
        try {
            while (true) {
                int len = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
                int type = in.readUnsignedByte();
                in.skipBytes(5);
                in.skipBytes(len);
                if (type == 0x7) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
    }

    static byte[] request(int stream) {
        return frame(0x1, 0x4 | 0x1, stream, hpack(":method", "GET", ":scheme", "http", ":path", "/slow?ms=2000", ":authority", "h"));
    }

    @Test
    void http2RapidResetEndsInGoAway() throws IOException {
        double counted = protocolErrors("h2_enhance_your_calm");
        try (Raw raw = new Raw(proxy.port("main"))) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.writeBytes(PREFACE);
            o.writeBytes(frame(0x4, 0, 0, new byte[0]));
            for (int i = 0; i < 400; i++) {
                int id = 1 + 2 * i;
                o.writeBytes(request(id));
                o.writeBytes(frame(0x3, 0, id, new byte[] {0, 0, 0, 8}));
            }
            raw.send(o.toByteArray());
            assertThat(sawGoAway(raw)).isTrue();
        }
        assertThat(protocolErrors("h2_enhance_your_calm")).as(protocolErrorLines()).isEqualTo(counted + 1);
    }

    @Test
    void http2ContinuationFloodEndsInGoAway() throws IOException {
        double counted = protocolErrors("h2_enhance_your_calm");
        try (Raw raw = new Raw(proxy.port("main"))) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.writeBytes(PREFACE);
            o.writeBytes(frame(0x4, 0, 0, new byte[0]));
            o.writeBytes(frame(0x1, 0, 1, hpack(":method", "GET", ":scheme", "http")));
            for (int i = 0; i < 1000; i++) {
                o.writeBytes(frame(0x9, 0, 1, hpack("x-c", "v")));
            }
            raw.send(o.toByteArray());
            assertThat(sawGoAway(raw)).isTrue();
        }
        assertThat(protocolErrors("h2_enhance_your_calm")).as(protocolErrorLines()).isEqualTo(counted + 1);
    }

    @Test
    void http2PriorKnowledgeWorksOnTheSamePort() throws IOException {
        try (Raw raw = new Raw(proxy.port("main"))) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.writeBytes(PREFACE);
            o.writeBytes(frame(0x4, 0, 0, new byte[0]));
            o.writeBytes(frame(0x1, 0x5, 1, hpack(":method", "GET", ":scheme", "http", ":path", "/echo", ":authority", "h")));
            raw.send(o.toByteArray());
            raw.socket.setSoTimeout(5000);
            DataInputStream in = new DataInputStream(raw.socket.getInputStream());
            boolean headers = false;
            for (int n = 0; n < 20 && !headers; n++) {
                int len = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
                int type = in.readUnsignedByte();
                in.skipBytes(1);
                int stream = in.readInt();
                in.skipBytes(len);
                headers = type == 0x1 && stream == 1;
            }
            assertThat(headers).isTrue();
        }
    }
}
