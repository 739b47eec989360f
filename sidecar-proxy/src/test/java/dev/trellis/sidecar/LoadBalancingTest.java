package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.FlakyBackend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each balancer through a real sidecar to real backends. */
class LoadBalancingTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    final List<FlakyBackend> backends = new ArrayList<>();
    ExecutorService pool;

    @BeforeEach
    void start() throws Exception {
        for (int i = 0; i < 3; i++) {
            backends.add(new FlakyBackend("b" + i));
        }
        pool = Executors.newFixedThreadPool(16);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
        backends.forEach(FlakyBackend::close);
    }

    int[] ports() {
        return backends.stream().mapToInt(FlakyBackend::port).toArray();
    }

    static Proxy proxy(String clusterExtra, String route, int... ports) {
        return Proxy.start(bootstrap(listener("main", "", vhost(route)), cluster("app", clusterExtra, ports)));
    }

    static String get(Proxy p, String header) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(p.uri("main", "/"));
        if (header != null) {
            b.header("x-user", header);
        }
        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** {@code n} requests from 16 concurrent clients; answers by backend name. */
    Map<String, Integer> load(Proxy p, int n) throws Exception {
        List<Future<String>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            fs.add(pool.submit(() -> get(p, null)));
        }
        Map<String, Integer> m = new HashMap<>();
        for (Future<String> f : fs) {
            m.merge(f.get(), 1, Integer::sum);
        }
        return m;
    }

    @Test
    void roundRobinSpreadsEvenlyOverThree() throws Exception {
        try (Proxy p = proxy("'lb_policy': 'ROUND_ROBIN'", route("/", "app"), ports())) {
            Map<String, Integer> m = load(p, 600);
            assertThat(m).hasSize(3);
            // within +-2% of a third each
            assertThat(m.values()).allSatisfy(n -> assertThat(n).isBetween(188, 212));
        }
    }

    @Test
    void leastRequestAvoidsASlowBackend() throws Exception {
        backends.get(0).delayMs.set(100);
        backends.get(1).delayMs.set(5);
        backends.get(2).delayMs.set(5);
        try (Proxy p = proxy("'lb_policy': 'LEAST_REQUEST'", route("/", "app"), ports())) {
            Map<String, Integer> m = load(p, 600);
            assertThat(m.getOrDefault("b0", 0)).as("slow backend's share of %s", m).isLessThan(600 / 4);
        }
    }

    @Test
    void peakEwmaSendsAtLeast80PercentAwayFromASlowBackend() throws Exception {
        backends.get(0).delayMs.set(100);
        backends.get(1).delayMs.set(5);
        backends.get(2).delayMs.set(5);
        String peak = j("'load_balancing_policy': {'policies': [{'typed_extension_config': {"
                + "'name': 'trellis.load_balancing_policies.peak_ewma', 'typed_config': {"
                + "'@type': 'type.googleapis.com/xds.type.v3.TypedStruct',"
                + "'type_url': 'type.googleapis.com/trellis.load_balancing_policies.v1.PeakEwma'}}}]}");
        try (Proxy p = proxy(peak, route("/", "app"), ports())) {
            Map<String, Integer> m = load(p, 600);
            int elsewhere = m.getOrDefault("b1", 0) + m.getOrDefault("b2", 0);
            assertThat(elsewhere).as("answers by backend: %s", m).isGreaterThanOrEqualTo(600 * 8 / 10);
        }
    }

    @Test
    void ringHashKeepsAKeyOnOneHostAndMovesAboutAQuarterWhenAFourthJoins() throws Exception {
        String r = j("{'match': {'prefix': '/'}, 'route': {'cluster': 'app', 'hash_policy': [{'header': {'header_name': 'x-user'}}]}}");
        Map<String, String> first = new HashMap<>();
        try (Proxy p = proxy("'lb_policy': 'RING_HASH'", r, ports())) {
            for (int k = 0; k < 200; k++) {
                String b = get(p, "user-" + k);
                first.put("user-" + k, b);
                assertThat(get(p, "user-" + k)).isEqualTo(b);
            }
            assertThat(new java.util.HashSet<>(first.values())).hasSize(3);
            backends.add(new FlakyBackend("b3"));
            p.rewrite(bootstrap(listener("main", "", vhost(r)), cluster("app", "'lb_policy': 'RING_HASH'", ports())));
            assertThat(p.sidecar.reload()).isEmpty();
            int moved = 0;
            for (int k = 0; k < 200; k++) {
                String now = get(p, "user-" + k);
                if (!now.equals(first.get("user-" + k))) {
                    moved++;
                    assertThat(now).isEqualTo("b3");
                }
            }
            assertThat(moved).isBetween(25, 75);
        }
    }
}
