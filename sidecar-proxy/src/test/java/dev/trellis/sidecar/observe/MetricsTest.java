package dev.trellis.sidecar.observe;

import static dev.trellis.sidecar.observe.Exposition.series;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Exact metric values after a known mix of requests, and a promtool-clean exposition. */
class MetricsTest {
    static Backend backend;
    static Proxy proxy;
    static final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        backend = new Backend("ok");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String routes = vhost(route("/ok", "ok"), route("/status", "ok"), route("/uf", "down"));
        String inbound = listener("in", "", vhost(route("/", "ok"))).replaceFirst("\\{", "{\"traffic_direction\": \"INBOUND\",");
        proxy = Proxy.start(bootstrap(listener("out", "", routes) + "," + inbound,
                cluster("ok", "", backend.port()) + "," + cluster("down", "", closed)));
        send("out", "GET", "/ok", null, 3);
        send("out", "POST", "/ok", "x".repeat(1000), 1);
        send("out", "GET", "/status?code=404", null, 2);
        send("out", "GET", "/uf", null, 2);
        send("out", "GET", "/nowhere", null, 1);
        send("in", "GET", "/ok", null, 2);
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> total(metrics()) == 11);
    }

    static void send(String listener, String method, String path, String body, int times) throws Exception {
        for (int i = 0; i < times; i++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(proxy.uri(listener, path));
            b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    static Map<String, Double> metrics() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(proxy.admin("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return Exposition.parse(r.body());
    }

    static double total(Map<String, Double> m) {
        return m.entrySet().stream().filter(e -> e.getKey().startsWith("trellis_requests_total{"))
                .mapToDouble(Map.Entry::getValue).sum();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        backend.close();
    }

    @Test
    void requestCountsByCodeAndFlag() throws Exception {
        Map<String, Double> m = metrics();
        String n = "trellis_requests_total";
        assertThat(m).containsEntry(series(n, "source", "test", "ok", 200, "-", "-", "http"), 4.0)
                .containsEntry(series(n, "source", "test", "ok", 404, "-", "-", "http"), 2.0)
                .containsEntry(series(n, "source", "test", "down", 503, "UF", "-", "http"), 2.0)
                .containsEntry(series(n, "source", "test", "unknown", 404, "NR", "-", "http"), 1.0)
                .containsEntry(series(n, "destination", "unknown", "ok", 200, "-", "-", "http"), 2.0);
        assertThat(total(m)).isEqualTo(11.0);
    }

    @Test
    void durationsAndSizes() throws Exception {
        Map<String, Double> m = metrics();
        assertThat(m).containsEntry(series("trellis_request_duration_seconds_count", "source", "test", "ok", 200, "-", "-", "http"), 4.0)
                .containsEntry(series("trellis_request_bytes_count", "source", "test", "ok", 200, "-", "-", "http"), 4.0)
                .containsEntry(series("trellis_request_bytes_sum", "source", "test", "ok", 200, "-", "-", "http"), 1000.0)
                .containsEntry(series("trellis_response_bytes_count", "source", "test", "down", 503, "UF", "-", "http"), 2.0);
        String bucket = series("trellis_request_duration_seconds_bucket", "source", "test", "ok", 200, "-", "-", "http");
        assertThat(m).containsEntry(bucket.replace("{", "{").replace("}", ",le=\"+Inf\"}"), 4.0);
        assertThat(m.get(series("trellis_response_bytes_sum", "source", "test", "down", 503, "UF", "-", "http")))
                .isGreaterThan(0);
    }

    @Test
    void upstreamAndConfigGauges() throws Exception {
        Map<String, Double> m = metrics();
        assertThat(m).containsEntry("trellis_upstream_endpoints{cluster=\"ok\",health=\"healthy\"}", 1.0)
                .containsEntry("trellis_upstream_endpoints{cluster=\"down\",health=\"healthy\"}", 1.0)
                .containsEntry("trellis_upstream_active_requests{cluster=\"ok\"}", 0.0)
                .containsEntry("trellis_config_generation", 1.0)
                .containsEntry("trellis_access_log_dropped_total", 0.0);
        assertThat(m.get("trellis_upstream_connections{cluster=\"ok\"}")).isGreaterThanOrEqualTo(1.0);
        // every request is over: the pools hold their connections idle and nothing waits
        assertThat(m).containsEntry("trellis_upstream_pool_connections{cluster=\"ok\",state=\"active\"}", 0.0)
                .containsEntry("trellis_upstream_pool_connections{cluster=\"ok\",state=\"idle\"}",
                        m.get("trellis_upstream_connections{cluster=\"ok\"}"))
                .containsEntry("trellis_upstream_pending_requests{cluster=\"ok\"}", 0.0)
                .containsEntry("trellis_upstream_pool_connections{cluster=\"down\",state=\"idle\"}", 0.0)
                .containsEntry("trellis_upstream_retry_overflows_total{cluster=\"ok\"}", 0.0)
                .containsEntry("trellis_access_log_written_total", 0.0);
        assertThat(m.get("trellis_config_last_update_timestamp_seconds"))
                .isCloseTo(System.currentTimeMillis() / 1000.0, org.assertj.core.data.Offset.offset(600.0));
    }

    @Test
    void noPathsOrIdsInLabels() throws Exception {
        String text = client.send(HttpRequest.newBuilder(proxy.admin("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(text).doesNotContain("/ok").doesNotContain("/status").doesNotContain("nowhere");
    }

    @Test
    void promtoolAcceptsTheExposition() throws Exception {
        Exposition.promtool(client.send(HttpRequest.newBuilder(proxy.admin("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
    }
}
