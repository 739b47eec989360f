package dev.trellis.sidecar.observe;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** JSON access log lines from a real sidecar, field by field; a stuck sink drops and counts. */
class AccessLogTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient client = HttpClient.newHttpClient();

    static String accessLog(Path file) {
        return j("'access_log': [{'name': 'envoy.access_loggers.file', 'typed_config': {'@type': "
                + "'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', 'path': '" + file + "'}}]");
    }

    static List<JsonNode> lines(Path file, int n) throws Exception {
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(file)
                && Files.readAllLines(file).size() >= n);
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            out.add(JSON.readTree(l));
        }
        return out;
    }

    @Test
    void oneJsonLinePerRequestWithEveryField() throws Exception {
        Path file = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "alog").resolve("access.log");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        try (Backend backend = new Backend("b");
             Proxy proxy = Proxy.start(bootstrap(listener("main", accessLog(file), vhost(route("/ok", "ok"), route("/uf", "down"))),
                     cluster("ok", "", backend.port()) + "," + cluster("down", "", closed)))) {
            Instant before = Instant.now().minusMillis(5);
            HttpResponse<String> ok = client.send(HttpRequest.newBuilder(proxy.uri("main", "/ok/echo?q=1"))
                    .header("x-request-id", "req-1").POST(HttpRequest.BodyPublishers.ofString("0123456789")).build(),
                    HttpResponse.BodyHandlers.ofString());
            client.send(HttpRequest.newBuilder(proxy.uri("main", "/uf")).header("x-request-id", "req-2").build(),
                    HttpResponse.BodyHandlers.ofString());
            List<JsonNode> lines = lines(file, 2);
            assertThat(lines).hasSize(2);

            JsonNode a = lines.get(0);
            List<String> names = new ArrayList<>();
            a.fieldNames().forEachRemaining(names::add);
            assertThat(names).containsExactly("timestamp", "request_id", "trace_id", "span_id", "method", "authority",
                    "path", "protocol", "response_code", "response_flags", "grpc_status", "duration_ms", "upstream_host",
                    "attempts", "bytes_received", "bytes_sent", "source_identity", "destination_service");
            Instant ts = Instant.parse(a.get("timestamp").asText());
            assertThat(ts).isBetween(before, Instant.now());
            assertThat(a.get("request_id").asText()).isEqualTo("req-1");
            assertThat(a.get("trace_id").isNull()).isTrue();
            assertThat(a.get("span_id").isNull()).isTrue();
            assertThat(a.get("method").asText()).isEqualTo("POST");
            assertThat(a.get("authority").asText()).isEqualTo("127.0.0.1:" + proxy.port("main"));
            assertThat(a.get("path").asText()).isEqualTo("/ok/echo?q=1");
            assertThat(a.get("protocol").asText()).isEqualTo("HTTP/1.1");
            assertThat(a.get("response_code").asInt()).isEqualTo(200);
            assertThat(a.get("response_flags").asText()).isEqualTo("-");
            assertThat(a.get("grpc_status").isNull()).isTrue();
            assertThat(a.get("duration_ms").isIntegralNumber()).isTrue();
            assertThat(a.get("duration_ms").asLong()).isBetween(0L, 5000L);
            assertThat(a.get("upstream_host").asText()).isEqualTo("127.0.0.1:" + backend.port());
            assertThat(a.get("attempts").asInt()).isEqualTo(1);
            assertThat(a.get("bytes_received").asLong()).isEqualTo(10);
            assertThat(a.get("bytes_sent").asLong()).isEqualTo(ok.body().getBytes(StandardCharsets.UTF_8).length);
            assertThat(a.get("source_identity").isNull()).isTrue();
            assertThat(a.get("destination_service").asText()).isEqualTo("ok");

            JsonNode b = lines.get(1);
            assertThat(b.get("request_id").asText()).isEqualTo("req-2");
            assertThat(b.get("method").asText()).isEqualTo("GET");
            assertThat(b.get("response_code").asInt()).isEqualTo(503);
            assertThat(b.get("response_flags").asText()).isEqualTo("UF");
            assertThat(b.get("upstream_host").asText()).isEqualTo("127.0.0.1:" + closed);
            assertThat(b.get("attempts").asInt()).isEqualTo(1);
            assertThat(b.get("bytes_received").asLong()).isZero();
            assertThat(b.get("bytes_sent").asLong()).isPositive();
            assertThat(b.get("destination_service").asText()).isEqualTo("down");
        }
    }

    /**
     * The log goes to a FIFO nobody reads: the writer blocks opening it, its queue fills, further
     * lines are dropped and counted, and requests keep the latency of a listener without a log.
     */
    @Test
    void aBlockedSinkDropsAndCountsWhileRequestsKeepTheirLatency() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "fifo");
        Path fifo = dir.resolve("access.fifo");
        boolean made;
        try {
            made = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0;
        } catch (java.io.IOException e) {
            made = false;
        }
        Assumptions.assumeTrue(made, "mkfifo not available: skipping the blocked-sink test");
        int queue = 50;
        int requests = 400;
        // direct responses: the latency measured is the proxy's own, not a backend's
        String direct = j("{'match': {'prefix': '/'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'ok'}}}");
        Proxy proxy = Proxy.start(bootstrap(listener("logged", accessLog(fifo), vhost(direct)) + ","
                + listener("plain", "", vhost(direct)), cluster("unused", "", 9)), queue);
        try {
            latencies(proxy, "plain", 100); // warm-up
            long[] plain = latencies(proxy, "plain", requests);
            long[] logged = latencies(proxy, "logged", requests);
            SidecarMetricsView m = new SidecarMetricsView(proxy);
            // the writer is blocked opening the FIFO: `queue` lines wait, the rest are dropped
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> m.dropped() == requests - queue);
            assertThat(p(logged, 0.5)).as("median with a blocked log (ms), plain %s", p(plain, 0.5) / 1e6)
                    .isLessThan(Math.max(3 * p(plain, 0.5), p(plain, 0.5) + TimeUnit.MILLISECONDS.toNanos(5)));
            assertThat(p(logged, 0.99)).as("p99 with a blocked log").isLessThan(TimeUnit.MILLISECONDS.toNanos(500));
            System.out.printf("blocked access log: p50 %.3f ms (plain %.3f ms), p99 %.3f ms (plain %.3f ms), dropped %.0f%n",
                    p(logged, 0.5) / 1e6, p(plain, 0.5) / 1e6, p(logged, 0.99) / 1e6, p(plain, 0.99) / 1e6, m.dropped());

            // a reader unblocks the writer: exactly the queued lines come out
            List<String> got = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (InputStream in = Files.newInputStream(fifo)) {
                    Iterator<String> it = Arrays.asList(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")).iterator();
                    it.forEachRemaining(got::add);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            reader.start();
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> m.written() == queue);
            proxy.close();
            reader.join(5000);
            assertThat(got).hasSize(queue);
            assertThat(JSON.readTree(got.get(0)).get("response_code").asInt()).isEqualTo(200);
        } finally {
            if (proxy.sidecar.ready()) {
                proxy.close();
            }
        }
    }

    static long[] latencies(Proxy proxy, String listener, int n) throws Exception {
        long[] out = new long[n];
        HttpRequest req = HttpRequest.newBuilder(proxy.uri(listener, "/x")).build();
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
            out[i] = System.nanoTime() - t0;
            assertThat(r.statusCode()).isEqualTo(200);
        }
        Arrays.sort(out);
        return out;
    }

    static long p(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))];
    }

    /** Reads the access-log counters from the sidecar's exposition. */
    record SidecarMetricsView(Proxy proxy) {
        double dropped() {
            return Exposition.parse(proxy.sidecar.metrics().scrape()).get("trellis_access_log_dropped_total");
        }

        double written() {
            return Exposition.parse(proxy.sidecar.metrics().scrape()).get("trellis_access_log_written_total");
        }
    }
}
