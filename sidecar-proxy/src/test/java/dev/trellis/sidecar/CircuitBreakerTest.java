package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.FlakyBackend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Circuit breaker overflow answers 503 UO at once and shows in /clusters and /metrics. */
class CircuitBreakerTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static FlakyBackend slow;
    static Proxy proxy;

    @BeforeAll
    static void start() throws Exception {
        slow = new FlakyBackend("slow");
        slow.delayMs.set(3000);
        proxy = Proxy.start(bootstrap(listener("main", "", vhost(route("/requests", "requests"), route("/conns", "conns"),
                        route("/pending", "pending"))), String.join(",",
                cluster("requests", "'circuit_breakers': {'thresholds': [{'max_requests': 1}]}", slow.port()),
                cluster("conns", "'circuit_breakers': {'thresholds': [{'max_connections': 1, 'max_pending_requests': 0}]}", slow.port()),
                cluster("pending", "'circuit_breakers': {'thresholds': [{'max_connections': 1, 'max_pending_requests': 1}]}", slow.port()))));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        slow.close();
    }

    static CompletableFuture<HttpResponse<String>> send(String path) {
        return client.sendAsync(HttpRequest.newBuilder(proxy.uri("main", path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void awaitBackend(int n) {
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> slow.requests.get() >= n);
    }

    static void assertOverflowNow(String path) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = send(path).get();
        // at once: well before the backend's 3 s answer (the machine may be loaded)
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1500);
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("UO");
        assertThat(r.body()).contains("upstream overflow");
    }

    static String admin(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(proxy.admin(path)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void maxRequestsOverflowIsImmediate() throws Exception {
        int before = slow.requests.get();
        CompletableFuture<HttpResponse<String>> first = send("/requests");
        awaitBackend(before + 1);
        assertOverflowNow("/requests");
        assertThat(first.get().statusCode()).isEqualTo(200);
        assertThat(admin("/clusters")).contains("\"requests_overflows\" : 1");
        assertThat(admin("/metrics")).contains(
                "trellis_cluster_circuit_breaker_overflow_total{cluster=\"requests\",priority=\"default\",resource=\"requests\"} 1");
    }

    @Test
    void maxConnectionsWithoutPendingRoomOverflows() throws Exception {
        int before = slow.requests.get();
        CompletableFuture<HttpResponse<String>> first = send("/conns");
        awaitBackend(before + 1);
        assertOverflowNow("/conns");
        assertThat(first.get().statusCode()).isEqualTo(200);
    }

    @Test
    void oneRequestMayWaitForTheConnectionTheNextOverflows() throws Exception {
        int before = slow.requests.get();
        CompletableFuture<HttpResponse<String>> first = send("/pending");
        awaitBackend(before + 1);
        CompletableFuture<HttpResponse<String>> waiting = send("/pending");
        Awaitility.await().atMost(Duration.ofSeconds(2))
                .until(() -> proxy.sidecar.clusterManager().get("pending").resources(false).pending().open() == 1);
        assertOverflowNow("/pending");
        assertThat(first.get().statusCode()).isEqualTo(200);
        assertThat(waiting.get().statusCode()).isEqualTo(200);
        assertThat(proxy.sidecar.clusterManager().get("pending").resources(false).pending().open()).isZero();
    }
}
