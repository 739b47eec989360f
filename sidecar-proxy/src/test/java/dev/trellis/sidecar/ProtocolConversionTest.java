package dev.trellis.sidecar;

import static dev.trellis.sidecar.HardeningTest.PREFACE;
import static dev.trellis.sidecar.HardeningTest.frame;
import static dev.trellis.sidecar.HardeningTest.hpack;
import static dev.trellis.sidecar.testing.Boot.HTTP2;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.H2Backend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.Raw;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * HTTP/1.1 and HTTP/2 on real sockets, each direction: :authority and Host, cookie splitting and
 * joining, te: trailers, hop-by-hop headers; and the listener's HTTP/2 max_concurrent_streams.
 */
class ProtocolConversionTest {
    static Backend h1;
    static H2Backend h2;
    static Proxy proxy;

    @BeforeAll
    static void start() throws Exception {
        h1 = new Backend("h1");
        h2 = new H2Backend();
        String routes = vhost(route("/headers", "h2"), route("/", "h1"));
        proxy = Proxy.start(bootstrap(listener("main", "", routes) + ","
                        + listener("limited", j("'http2_protocol_options': {'max_concurrent_streams': 3}"), routes),
                cluster("h1", "", h1.port()) + "," + cluster("h2", HTTP2, h2.port())));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        h1.close();
        h2.close();
    }

    record Frame(int type, int flags, int stream, byte[] payload) {}

    static Frame read(DataInputStream in) throws IOException {
        int len = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7fffffff;
        byte[] payload = new byte[len];
        in.readFully(payload);
        return new Frame(type, flags, stream, payload);
    }

    @Test
    void http1ToHttp2SplitsCookiesKeepsTeTrailersAndDropsHopByHop() throws Exception {
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("GET /headers HTTP/1.1\r\nHost: svc.test:8080\r\nCookie: a=1; b=2\r\nTE: trailers, gzip\r\n"
                    + "Connection: close, x-hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nUpgrade-Insecure-Requests: 1\r\n\r\n");
            String resp = raw.readUntilClose(5000);
            assertThat(resp).startsWith("HTTP/1.1 200");
            List<String> lines = resp.substring(resp.indexOf("\r\n\r\n") + 4).lines().toList();
            assertThat(lines).contains(":method: GET", ":path: /headers", ":scheme: http", ":authority: svc.test:8080",
                    "cookie: a=1", "cookie: b=2", "te: trailers", "x-forwarded-proto: http", "upgrade-insecure-requests: 1");
            assertThat(lines).noneMatch(l -> l.startsWith("host:") || l.startsWith("connection:") || l.startsWith("x-hop:")
                    || l.startsWith("keep-alive:") || l.contains("gzip"));
            assertThat(lines).anyMatch(l -> l.matches("x-request-id: [0-9a-f-]{36}"));
        }
    }

    @Test
    void http2ToHttp1JoinsCookiesAndSendsAuthorityAsHost() throws Exception {
        try (Raw raw = new Raw(proxy.port("main"))) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.writeBytes(PREFACE);
            o.writeBytes(frame(0x4, 0, 0, new byte[0]));
            o.writeBytes(frame(0x1, 0x5, 1, hpack(":method", "GET", ":scheme", "http", ":path", "/echo",
                    ":authority", "svc.test", "cookie", "a=1", "cookie", "b=2", "te", "trailers")));
            raw.send(o.toByteArray());
            DataInputStream in = new DataInputStream(raw.socket.getInputStream());
            StringBuilder body = new StringBuilder();
            for (int n = 0; n < 50; n++) {
                Frame f = read(in);
                if (f.type() == 0x0 && f.stream() == 1) {
                    body.append(new String(f.payload(), StandardCharsets.UTF_8));
                    if ((f.flags() & 0x1) != 0) {
                        break;
                    }
                }
            }
            Map<String, String> seen = Backend.echoedHeaders(body.toString());
            assertThat(seen).containsEntry("cookie", "a=1; b=2").containsEntry("host", "svc.test")
                    .containsEntry("te", "trailers").containsEntry("x-forwarded-proto", "http");
        }
    }

    @Test
    void http2MaxConcurrentStreamsIsAdvertisedAndEnforced() throws Exception {
        try (Raw raw = new Raw(proxy.port("limited"))) {
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            o.writeBytes(PREFACE);
            o.writeBytes(frame(0x4, 0, 0, new byte[0]));
            raw.send(o.toByteArray());
            DataInputStream in = new DataInputStream(raw.socket.getInputStream());
            Frame settings;
            do {
                settings = read(in);
            } while (settings.type() != 0x4 || (settings.flags() & 0x1) != 0);
            long advertised = -1;
            ByteBuffer p = ByteBuffer.wrap(settings.payload());
            while (p.remaining() >= 6) {
                int id = p.getShort() & 0xffff;
                long value = p.getInt() & 0xffffffffL;
                if (id == 0x3) {
                    advertised = value;
                }
            }
            assertThat(advertised).isEqualTo(3);

            o.reset();
            o.writeBytes(frame(0x4, 0x1, 0, new byte[0]));
            for (int stream = 1; stream <= 7; stream += 2) {
                o.writeBytes(frame(0x1, 0x5, stream, hpack(":method", "GET", ":scheme", "http",
                        ":path", "/slow?ms=500", ":authority", "h")));
            }
            raw.send(o.toByteArray());
            Frame reset = null;
            for (int n = 0; n < 50 && reset == null; n++) {
                Frame f = read(in);
                if (f.type() == 0x3) {
                    reset = f;
                }
            }
            assertThat(reset).isNotNull();
            assertThat(reset.stream()).as("the fourth stream is over the limit").isEqualTo(7);
            assertThat(ByteBuffer.wrap(reset.payload()).getInt()).as("REFUSED_STREAM").isEqualTo(0x7);
        }
    }
}
