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
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** A failing backend is ejected, shown in /clusters with the reason, and returns after base_ejection_time. */
class OutlierEjectionTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void ejectionAndReturn() throws Exception {
        try (FlakyBackend good = new FlakyBackend("good"); FlakyBackend bad = new FlakyBackend("bad")) {
            bad.alwaysStatus.set(503);
            String od = "'outlier_detection': {'consecutive_5xx': 3, 'interval': '0.1s', 'base_ejection_time': '1s'}";
            try (Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/", "app"))),
                    cluster("app", od, good.port(), bad.port())))) {
                for (int i = 0; i < 6; i++) {
                    client.send(HttpRequest.newBuilder(p.uri("main", "/")).build(), HttpResponse.BodyHandlers.ofString());
                }
                assertThat(bad.requests.get()).isEqualTo(3);
                String clusters = client.send(HttpRequest.newBuilder(p.admin("/clusters")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                assertThat(clusters).contains("\"ejection_reason\" : \"consecutive_5xx\"").contains("\"health\" : \"EJECTED\"");
                long ejectedAt = System.nanoTime();
                bad.alwaysStatus.set(0);
                for (int i = 0; i < 10; i++) {
                    assertThat(client.send(HttpRequest.newBuilder(p.uri("main", "/")).build(),
                            HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("good");
                }
                Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                        .until(() -> p.sidecar.clusterManager().get("app").hosts().stream().allMatch(h -> h.healthy()));
                assertThat((System.nanoTime() - ejectedAt) / 1_000_000).isGreaterThanOrEqualTo(700);
                int before = bad.requests.get();
                for (int i = 0; i < 4; i++) {
                    client.send(HttpRequest.newBuilder(p.uri("main", "/")).build(), HttpResponse.BodyHandlers.ofString());
                }
                assertThat(bad.requests.get()).isEqualTo(before + 2);
                assertThat(client.send(HttpRequest.newBuilder(p.admin("/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body())
                        .contains("trellis_cluster_unhealthy_hosts{cluster=\"app\",reason=\"outlier_ejected\"} 0");
            }
        }
    }
}
