package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.HTTP2;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.testing.FlakyBackend;
import dev.trellis.sidecar.testing.H2Backend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Circuit breakers in the upstream pools: with every HTTP/2 stream taken and {@code max_connections}
 * reached a request waits as pending (bounded by {@code max_pending_requests}) and beyond that fails
 * at once with 503 UO; a waiting request that gives up frees its slot; connections and pending
 * requests count against the thresholds of the route's priority. Backends hold requests until told,
 * so nothing depends on timing except "at once".
 */
class CircuitBreakerPoolTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    /** A route for {@code prefix} to {@code cluster} that strips the prefix, with {@code extra} route fields. */
    static String route(String prefix, String cluster, String extra) {
        return j("{'match': {'prefix': '" + prefix + "'}, 'route': {'cluster': '" + cluster + "', 'prefix_rewrite': '/'"
                + (extra.isEmpty() ? "" : ", " + extra) + "}}");
    }

    static CompletableFuture<HttpResponse<String>> send(Proxy p, String path) {
        return client.sendAsync(HttpRequest.newBuilder(p.uri("main", path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void await(BooleanSupplier condition) {
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).until(condition::getAsBoolean);
    }

    static void assertOverflowNow(Proxy p, String path) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = send(p, path).get();
        // at once: the backends never answer on their own (the machine may be loaded)
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1500);
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("UO");
        assertThat(r.body()).contains("upstream overflow");
    }

    static String admin(Proxy p, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(p.admin(path)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void http2RequestsWaitForAStreamAsPendingAndOverflowBeyondTheBound() throws Exception {
        try (H2Backend backend = new H2Backend(1);
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/", "h2", ""))),
                     cluster("h2", HTTP2 + ", 'circuit_breakers': {'thresholds': [{'max_connections': 1, 'max_pending_requests': 1}]}",
                             backend.port())))) {
            Cluster c = p.sidecar.clusterManager().get("h2");
            CompletableFuture<HttpResponse<String>> first = send(p, "/hold");
            await(() -> backend.held() == 1);
            // the only connection's only stream is taken and no connection may open: wait
            CompletableFuture<HttpResponse<String>> waiting = send(p, "/hold");
            await(() -> c.resources(false).pending().open() == 1 && c.pendingRequests() == 1);
            assertThat(waiting).isNotDone();
            assertOverflowNow(p, "/hold");

            assertThat(admin(p, "/clusters")).contains("\"pending_requests_overflows\" : 1");
            assertThat(admin(p, "/metrics")).contains(
                    "trellis_cluster_circuit_breaker_overflow_total{cluster=\"h2\",priority=\"default\",resource=\"pending_requests\"} 1");

            backend.release();
            assertThat(first.get().statusCode()).isEqualTo(200);
            // the freed stream (or connection) goes to the waiting request
            await(() -> c.resources(false).pending().open() == 0 && backend.held() == 1);
            backend.release();
            assertThat(waiting.get().statusCode()).isEqualTo(200);
            assertThat(c.pendingRequests()).isZero();
            assertThat(c.resources(false).connections().open()).isEqualTo(1);
        }
    }

    @Test
    void aWaitingHttp2RequestThatTimesOutGivesItsPendingSlotBack() throws Exception {
        try (H2Backend backend = new H2Backend(1);
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/t/", "h2", "'timeout': '0.3s'"),
                             route("/", "h2", "'timeout': '0s'"))),
                     cluster("h2", HTTP2 + ", 'circuit_breakers': {'thresholds': [{'max_connections': 1, 'max_pending_requests': 1}]}",
                             backend.port())))) {
            Cluster c = p.sidecar.clusterManager().get("h2");
            CompletableFuture<HttpResponse<String>> first = send(p, "/hold");
            await(() -> backend.held() == 1);
            HttpResponse<String> timedOut = send(p, "/t/hold").get();
            assertThat(timedOut.statusCode()).isEqualTo(504);
            assertThat(c.resources(false).pending().open()).isZero();
            assertThat(c.pendingRequests()).isZero();
            // the slot is free again: the next request waits instead of overflowing
            CompletableFuture<HttpResponse<String>> next = send(p, "/hold");
            await(() -> c.resources(false).pending().open() == 1);
            backend.release();
            assertThat(first.get().statusCode()).isEqualTo(200);
            await(() -> c.resources(false).pending().open() == 0 && backend.held() == 1);
            backend.release();
            assertThat(next.get().statusCode()).isEqualTo(200);
            assertThat(c.resources(false).pending().overflows()).isZero();
        }
    }

    @Test
    void aWaitingHttp1RequestThatTimesOutGivesItsPendingSlotBack() throws Exception {
        try (FlakyBackend slow = new FlakyBackend("slow");
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/t/", "h1", "'timeout': '0.3s'"),
                             route("/", "h1", "'timeout': '0s'"))),
                     cluster("h1", "'circuit_breakers': {'thresholds': [{'max_connections': 1, 'max_pending_requests': 1}]}",
                             slow.port())))) {
            slow.delayMs.set(1500);
            Cluster c = p.sidecar.clusterManager().get("h1");
            CompletableFuture<HttpResponse<String>> first = send(p, "/");
            await(() -> slow.requests.get() == 1);
            HttpResponse<String> timedOut = send(p, "/t/").get();
            assertThat(timedOut.statusCode()).isEqualTo(504);
            assertThat(c.resources(false).pending().open()).isZero();
            CompletableFuture<HttpResponse<String>> next = send(p, "/");
            await(() -> c.resources(false).pending().open() == 1);
            assertThat(first.get().statusCode()).isEqualTo(200);
            assertThat(next.get().statusCode()).isEqualTo(200);
            assertThat(slow.requests.get()).as("the request that timed out never went upstream").isEqualTo(2);
            assertThat(c.resources(false).pending().overflows()).isZero();
        }
    }

    @Test
    void connectionsAndPendingRequestsCountAgainstTheRoutesPriority() throws Exception {
        String thresholds = "'circuit_breakers': {'thresholds': ["
                + "{'priority': 'DEFAULT', 'max_connections': 1, 'max_pending_requests': 0},"
                + "{'priority': 'HIGH', 'max_connections': 2, 'max_pending_requests': 1}]}";
        try (H2Backend backend = new H2Backend(1);
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/hi/", "prio", "'priority': 'HIGH'"),
                             route("/", "prio", ""))),
                     cluster("prio", HTTP2 + ", " + thresholds, backend.port())))) {
            Cluster c = p.sidecar.clusterManager().get("prio");
            CompletableFuture<HttpResponse<String>> low = send(p, "/hold");
            await(() -> backend.held() == 1);
            // DEFAULT: its one connection is busy and nothing may wait
            assertOverflowNow(p, "/hold");

            // HIGH has its own pools and limits: two connections, then one waiting request, then overflow
            CompletableFuture<HttpResponse<String>> high1 = send(p, "/hi/hold");
            await(() -> backend.held() == 2);
            CompletableFuture<HttpResponse<String>> high2 = send(p, "/hi/hold");
            await(() -> backend.held() == 3);
            CompletableFuture<HttpResponse<String>> high3 = send(p, "/hi/hold");
            await(() -> c.resources(true).pending().open() == 1);
            assertOverflowNow(p, "/hi/hold");
            assertThat(c.resources(false).connections().open()).isEqualTo(1);
            assertThat(c.resources(true).connections().open()).isEqualTo(2);
            assertThat(c.resources(false).pending().open()).isZero();

            String metrics = admin(p, "/metrics");
            assertThat(metrics)
                    .contains("trellis_cluster_circuit_breaker_overflow_total{cluster=\"prio\",priority=\"default\",resource=\"pending_requests\"} 1")
                    .contains("trellis_cluster_circuit_breaker_overflow_total{cluster=\"prio\",priority=\"high\",resource=\"pending_requests\"} 1")
                    .contains("trellis_cluster_circuit_breaker_open{cluster=\"prio\",priority=\"high\",resource=\"connections\"} 2")
                    .contains("trellis_cluster_circuit_breaker_open{cluster=\"prio\",priority=\"high\",resource=\"pending_requests\"} 1");

            backend.release();
            for (CompletableFuture<HttpResponse<String>> f : java.util.List.of(low, high1, high2)) {
                assertThat(f.get().statusCode()).isEqualTo(200);
            }
            await(() -> c.resources(true).pending().open() == 0 && backend.held() == 1);
            backend.release();
            assertThat(high3.get().statusCode()).isEqualTo(200);
            assertThat(c.resources(true).pending().open()).isZero();
        }
    }
}
