package dev.trellis.sidecar.observe;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.FlakyBackend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Upstream metrics with exact values after a known mix of requests: retries, retries refused by
 * the circuit breaker, outlier ejections by reason, endpoint health, and the pools' active and
 * idle connections and waiting requests; the exposition passes {@code promtool check metrics}.
 */
class ResilienceMetricsTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static final String PREVIOUS_HOSTS = "'retry_host_predicate': [{'name': 'envoy.retry_host_predicates.previous_hosts', "
            + "'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'}}]";
    final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    FlakyBackend backend(String name) throws InterruptedException {
        FlakyBackend b = new FlakyBackend(name);
        closeables.add(b);
        return b;
    }

    Proxy proxy(String routes, String clusters) {
        Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(routes)), clusters));
        closeables.add(p);
        return p;
    }

    static String route(String prefix, String cluster, String extra) {
        return j("{'match': {'prefix': '" + prefix + "'}, 'route': {'cluster': '" + cluster + "'"
                + (extra.isEmpty() ? "" : ", " + extra) + "}}");
    }

    static int get(Proxy p, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(p.uri("main", path)).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }

    static Map<String, Double> metrics(Proxy p) {
        return Exposition.parse(p.sidecar.metrics().scrape()
                + dev.trellis.sidecar.admin.ClusterStats.prometheus(p.sidecar.clusterManager().all()));
    }

    @Test
    void retriesEjectionsAndRefusedRetriesAreCountedExactly() throws Exception {
        FlakyBackend bad = backend("bad");
        bad.alwaysStatus.set(503);
        FlakyBackend good1 = backend("good1");
        FlakyBackend good2 = backend("good2");
        FlakyBackend refused = backend("refused");
        refused.alwaysStatus.set(503);
        // consecutive 5xx eject at once; the interval (which would return the host) never comes in the test
        String od = "'outlier_detection': {'consecutive_5xx': 2, 'interval': '3600s', 'base_ejection_time': '3600s'}";
        String noRetries = "'circuit_breakers': {'thresholds': [{'max_retries': 0}]}";
        Proxy p = proxy(route("/flaky", "flaky", "'retry_policy': {'retry_on': '5xx', 'num_retries': 1, " + PREVIOUS_HOSTS + "}")
                        + "," + route("/refused", "refused", "'retry_policy': {'retry_on': '5xx', 'num_retries': 3}"),
                cluster("flaky", od, bad.port(), good1.port(), good2.port()) + "," + cluster("refused", noRetries, refused.port()));

        // 'bad' answers 503 to the first attempt of each request it gets until it is ejected (2 of them); each of
        // those is retried on another host; afterwards only the good hosts are picked
        for (int i = 0; i < 9; i++) {
            assertThat(get(p, "/flaky")).isEqualTo(200);
        }
        // every retry is refused by max_retries 0: the 503 goes back as it is
        for (int i = 0; i < 3; i++) {
            assertThat(get(p, "/refused")).isEqualTo(503);
        }
        assertThat(bad.requests.get()).isEqualTo(2);
        assertThat(refused.requests.get()).isEqualTo(3);

        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(
                metrics(p).get(Exposition.series("trellis_requests_total", "source", "test", "refused", 503, "-", "-", "http")))
                .isEqualTo(3.0));
        Map<String, Double> m = metrics(p);
        assertThat(m).containsEntry("trellis_upstream_retries_total{cluster=\"flaky\"}", 2.0)
                .containsEntry("trellis_cluster_retries_total{cluster=\"flaky\"}", 2.0)
                .containsEntry("trellis_cluster_retries_total{cluster=\"refused\"}", 0.0)
                .containsEntry("trellis_upstream_retry_overflows_total{cluster=\"flaky\"}", 0.0)
                .containsEntry("trellis_upstream_retry_overflows_total{cluster=\"refused\"}", 3.0)
                .containsEntry("trellis_cluster_circuit_breaker_overflow_total{cluster=\"refused\",priority=\"default\",resource=\"retries\"}", 3.0)
                .containsEntry("trellis_upstream_outlier_ejections_total{cluster=\"flaky\",reason=\"consecutive_5xx\"}", 1.0)
                .containsEntry("trellis_upstream_endpoints{cluster=\"flaky\",health=\"ejected\"}", 1.0)
                .containsEntry("trellis_upstream_endpoints{cluster=\"flaky\",health=\"healthy\"}", 2.0)
                .containsEntry("trellis_cluster_unhealthy_hosts{cluster=\"flaky\",reason=\"outlier_ejected\"}", 1.0)
                .containsEntry("trellis_upstream_endpoints{cluster=\"refused\",health=\"healthy\"}", 1.0);
        assertThat(m.keySet()).noneMatch(k -> k.startsWith("trellis_upstream_outlier_ejections_total{cluster=\"refused\""));
        assertThat(m.keySet()).noneMatch(k -> k.startsWith("trellis_upstream_retries_total{cluster=\"refused\""));
        Exposition.promtool(p.sidecar.metrics().scrape()
                + dev.trellis.sidecar.admin.ClusterStats.prometheus(p.sidecar.clusterManager().all()));
    }

    @Test
    void poolsReportActiveAndIdleConnectionsAndWaitingRequests() throws Exception {
        FlakyBackend slow = backend("slow");
        slow.delayMs.set(1500);
        // one connection for the whole cluster: the second and third request wait for it
        Proxy p = proxy(route("/", "slow", ""), cluster("slow", "'circuit_breakers': {'thresholds': [{'max_connections': 1}]}",
                slow.port()));
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calls.add(client.sendAsync(HttpRequest.newBuilder(p.uri("main", "/")).build(), HttpResponse.BodyHandlers.ofString()));
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(metrics(p))
                .containsEntry("trellis_upstream_pool_connections{cluster=\"slow\",state=\"active\"}", 1.0)
                .containsEntry("trellis_upstream_pool_connections{cluster=\"slow\",state=\"idle\"}", 0.0)
                .containsEntry("trellis_upstream_pending_requests{cluster=\"slow\"}", 2.0));
        for (CompletableFuture<HttpResponse<String>> c : calls) {
            assertThat(c.get().statusCode()).isEqualTo(200);
        }
        // the connection stays open for the next request
        Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(metrics(p))
                .containsEntry("trellis_upstream_pool_connections{cluster=\"slow\",state=\"active\"}", 0.0)
                .containsEntry("trellis_upstream_pool_connections{cluster=\"slow\",state=\"idle\"}", 1.0)
                .containsEntry("trellis_upstream_pending_requests{cluster=\"slow\"}", 0.0)
                .containsEntry("trellis_upstream_connections{cluster=\"slow\"}", 1.0));
        assertThat(slow.requests.get()).isEqualTo(3);
    }
}
