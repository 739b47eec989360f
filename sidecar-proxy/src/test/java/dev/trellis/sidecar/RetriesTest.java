package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.FlakyBackend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.testing.RefusedPort;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Retries and timeouts through a real sidecar to real flaky backends. */
class RetriesTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    final List<FlakyBackend> backends = new ArrayList<>();
    final ExecutorService pool = Executors.newFixedThreadPool(32);

    @AfterEach
    void stop() {
        pool.shutdownNow();
        backends.forEach(FlakyBackend::close);
    }

    FlakyBackend backend(String name) throws InterruptedException {
        FlakyBackend b = new FlakyBackend(name);
        backends.add(b);
        return b;
    }

    static String route(String routeExtra) {
        return j("{'match': {'prefix': '/'}, 'route': {'cluster': 'app', " + routeExtra + "}}");
    }

    static String retry(String policy) {
        return "'retry_policy': {" + policy + "}";
    }

    static Proxy proxy(String routeExtra, String clusterExtra, int... ports) {
        return Proxy.start(bootstrap(listener("main", "", vhost(route(routeExtra))), cluster("app", clusterExtra, ports)));
    }

    static HttpResponse<String> get(Proxy p) throws Exception {
        return client.send(HttpRequest.newBuilder(p.uri("main", "/")).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String metrics(Proxy p) {
        return p.sidecar.metrics().scrape();
    }

    @Test
    void aBackendFailingItsFirstRequestsIsRetriedUntilItAnswers() throws Exception {
        FlakyBackend b = backend("b");
        b.failFirst.set(2);
        try (Proxy p = proxy(retry("'retry_on': '5xx', 'num_retries': 3"), "", b.port())) {
            HttpResponse<String> r = get(p);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(b.attempts).containsExactly("1", "2", "3");
        }
    }

    @Test
    void exhaustedRetriesPassTheLastAnswerOnWithURX() throws Exception {
        FlakyBackend b = backend("b");
        b.alwaysStatus.set(503);
        try (Proxy p = proxy(retry("'retry_on': 'gateway-error', 'num_retries': 2"), "", b.port())) {
            assertThat(get(p).statusCode()).isEqualTo(503);
            assertThat(b.requests.get()).isEqualTo(3);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(metrics(p)).contains("response_code=\"503\",response_flags=\"URX\""));
        }
    }

    @Test
    void connectFailureGoesToAnotherHost() throws Exception {
        FlakyBackend b = backend("b");
        String policy = retry("'retry_on': 'connect-failure', 'num_retries': 2, 'retry_host_predicate': ["
                + "{'name': 'envoy.retry_host_predicates.previous_hosts', 'typed_config': {"
                + "'@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'}}]");
        try (RefusedPort refused = new RefusedPort()) {
            int dead = refused.port();
            try (Proxy p = proxy(policy, "", dead, b.port())) {
                for (int i = 0; i < 10; i++) {
                    assertThat(get(p).statusCode()).isEqualTo(200);
                }
            }
            // without retries the dead host's turn fails
            try (Proxy p = proxy("'timeout': '5s'", "", dead, b.port())) {
                int failed = 0;
                for (int i = 0; i < 4; i++) {
                    HttpResponse<String> r = get(p);
                    if (r.statusCode() == 503) {
                        assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("UF");
                        failed++;
                    }
                }
                assertThat(failed).isEqualTo(2);
            }
        }
    }

    @Test
    void connectFailuresExhaustedAre503WithURX() throws Exception {
        try (RefusedPort dead = new RefusedPort();
             Proxy p = proxy(retry("'retry_on': 'connect-failure', 'num_retries': 2"), "", dead.port())) {
            HttpResponse<String> r = get(p);
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("UF,URX");
        }
    }

    @Test
    void aSlowTryIsCutByPerTryTimeoutAndRetriedElsewhere() throws Exception {
        FlakyBackend slow = backend("slow");
        FlakyBackend fast = backend("fast");
        slow.delayMs.set(2000);
        String policy = retry("'retry_on': '5xx', 'num_retries': 2, 'per_try_timeout': '0.2s', 'retry_host_predicate': ["
                + "{'name': 'envoy.retry_host_predicates.previous_hosts', 'typed_config': {"
                + "'@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'}}]");
        try (Proxy p = proxy(policy, "", slow.port(), fast.port())) {
            for (int i = 0; i < 4; i++) {
                long t0 = System.nanoTime();
                HttpResponse<String> r = get(p);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("fast");
                assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1500);
            }
            assertThat(slow.requests.get()).isBetween(1, 4);
        }
    }

    @Test
    void theRouteTimeoutCoversAllAttempts() throws Exception {
        FlakyBackend slow = backend("slow");
        slow.delayMs.set(3000);
        try (Proxy p = proxy("'timeout': '0.5s', " + retry("'retry_on': '5xx', 'num_retries': 10, 'per_try_timeout': '0.15s'"),
                "", slow.port())) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = get(p);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(r.statusCode()).isEqualTo(504);
            assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("UT");
            assertThat(ms).isBetween(450L, 1500L);
            assertThat(slow.requests.get()).isBetween(2, 4);
        }
    }

    @Test
    void theRouteIdleTimeoutEndsAStreamWhereNothingMoves() throws Exception {
        FlakyBackend slow = backend("slow");
        slow.delayMs.set(3000);
        // the route's idle_timeout replaces the listener's stream_idle_timeout (5m) for its streams
        try (Proxy p = proxy("'timeout': '10s', 'idle_timeout': '0.3s'", "", slow.port())) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = get(p);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(r.statusCode()).isEqualTo(408);
            assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("SI");
            assertThat(ms).isBetween(250L, 2500L);
        }
    }

    @Test
    void grpcTimeoutIsHonouredAndTheSmallerDeadlinePropagated() throws Exception {
        FlakyBackend slow = backend("slow");
        slow.delayMs.set(3000);
        try (Proxy p = proxy("'timeout': '10s'", "", slow.port())) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("main", "/pkg.Svc/Call"))
                    .header("content-type", "application/grpc").header("grpc-timeout", "300m")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(), HttpResponse.BodyHandlers.ofString());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(ms).isBetween(250L, 2000L);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("grpc-status")).contains("4");
            String sent = slow.headers.get(0).get("grpc-timeout");
            assertThat(GrpcTimeoutAccess.parse(sent)).isBetween(1L, 300_000_000L);
        }
        // a route timeout smaller than grpc-timeout is what goes upstream
        try (Proxy p = proxy("'timeout': '0.2s'", "", slow.port())) {
            client.send(HttpRequest.newBuilder(p.uri("main", "/pkg.Svc/Call"))
                    .header("content-type", "application/grpc").header("grpc-timeout", "5S")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(GrpcTimeoutAccess.parse(slow.headers.get(1).get("grpc-timeout"))).isBetween(1L, 200_000_000L);
        }
    }

    @Test
    void smallBodiesAreReplayedLargeOnesAreNotRetried() throws Exception {
        FlakyBackend b = backend("b");
        try (Proxy p = proxy(retry("'retry_on': '5xx', 'num_retries': 1"), "", b.port())) {
            b.failFirst.set(1);
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("main", "/"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[10_000])).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(b.bodySizes).containsExactly(10_000, 10_000);
            b.failFirst.set(1);
            r = client.send(HttpRequest.newBuilder(p.uri("main", "/"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[200_000])).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(b.bodySizes).containsExactly(10_000, 10_000, 200_000);
        }
    }

    @Test
    void aBackendKilledMidLoadCostsNoClientRequest() throws Exception {
        FlakyBackend a = backend("a");
        FlakyBackend b = backend("b");
        FlakyBackend c = backend("c");
        for (FlakyBackend x : backends) {
            x.delayMs.set(5);
        }
        String policy = retry("'retry_on': 'connect-failure,reset', 'num_retries': 3, 'retry_host_predicate': ["
                + "{'name': 'envoy.retry_host_predicates.previous_hosts', 'typed_config': {"
                + "'@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'}}]");
        String budget = "'circuit_breakers': {'thresholds': [{'retry_budget': {'budget_percent': {'value': 100}, 'min_retry_concurrency': 100}}]}";
        try (Proxy p = proxy(policy, budget, a.port(), b.port(), c.port())) {
            AtomicInteger done = new AtomicInteger();
            List<Future<String>> fs = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                fs.add(pool.submit(() -> {
                    HttpResponse<String> r = get(p);
                    done.incrementAndGet();
                    return r.statusCode() + " " + r.headers().firstValue("x-trellis-response-flags").orElse("") + " " + r.body();
                }));
            }
            while (done.get() < 200) {
                Thread.onSpinWait();
            }
            a.kill();
            List<String> failed = new ArrayList<>();
            for (Future<String> f : fs) {
                if (!f.get().startsWith("200")) {
                    failed.add(f.get());
                }
            }
            assertThat(failed).isEmpty();
            assertThat(b.requests.get() + c.requests.get()).isGreaterThan(400);
        }
    }

    @Test
    void theRetryBudgetStopsARetryStorm() throws Exception {
        for (int i = 0; i < 3; i++) {
            backend("b" + i).alwaysStatus.set(503);
        }
        int[] ports = backends.stream().mapToInt(FlakyBackend::port).toArray();
        try (Proxy p = proxy(retry("'retry_on': '5xx', 'num_retries': 3"), "", ports)) {
            int requests = 300;
            List<Future<Integer>> fs = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                fs.add(pool.submit(() -> get(p).statusCode()));
            }
            for (Future<Integer> f : fs) {
                assertThat(f.get()).isEqualTo(503);
            }
            int attempts = backends.stream().mapToInt(x -> x.requests.get()).sum();
            // the default budget: 20% of active requests, at least 3 concurrent retries (32 clients)
            assertThat(attempts).isLessThanOrEqualTo((int) (requests * 1.2) + 3);
            assertThat(attempts).isGreaterThan(requests);
            System.out.println("retry storm: " + requests + " requests, " + attempts + " upstream attempts");
        }
    }
}
