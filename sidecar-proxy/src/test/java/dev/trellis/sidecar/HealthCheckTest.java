package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.testing.FlakyBackend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.testing.RefusedPort;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** Active health checks against real backends take hosts out and back in. */
class HealthCheckTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static boolean healthy(Proxy p, int port) {
        return p.sidecar.clusterManager().get("app").hosts().stream()
                .filter(h -> h.address().getPort() == port).allMatch(Host::healthy);
    }

    static String body(Proxy p) throws Exception {
        return client.send(HttpRequest.newBuilder(p.uri("main", "/")).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void httpCheckTakesAFailingHostOutAndBackIn() throws Exception {
        try (FlakyBackend good = new FlakyBackend("good"); FlakyBackend bad = new FlakyBackend("bad")) {
            String hc = "'health_checks': [{'timeout': '0.5s', 'interval': '0.1s', 'unhealthy_threshold': 2, "
                    + "'healthy_threshold': 2, 'http_health_check': {'path': '/healthz', 'expected_statuses': [{'start': 200, 'end': 300}]}}]";
            try (Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/", "app"))),
                    cluster("app", hc, good.port(), bad.port())))) {
                Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> healthy(p, good.port()) && healthy(p, bad.port()));
                assertThat(bad.headers).anySatisfy(h -> assertThat(h.get("host")).isEqualTo("app"));
                bad.alwaysStatus.set(503);
                Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !healthy(p, bad.port()));
                for (int i = 0; i < 6; i++) {
                    assertThat(body(p)).isEqualTo("good");
                }
                assertThat(client.send(HttpRequest.newBuilder(p.admin("/clusters")).build(), HttpResponse.BodyHandlers.ofString())
                        .body()).contains("\"health\" : \"FAILED_ACTIVE_HC\"");
                bad.alwaysStatus.set(0);
                Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> healthy(p, bad.port()));
            }
        }
    }

    @Test
    void tcpCheckFindsADeadPort() throws Exception {
        try (RefusedPort refused = new RefusedPort(); FlakyBackend good = new FlakyBackend("good")) {
            int dead = refused.port();
            String hc = "'health_checks': [{'timeout': '0.5s', 'interval': '0.1s', 'unhealthy_threshold': 1, "
                    + "'healthy_threshold': 1, 'tcp_health_check': {}}]";
            try (Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/", "app"))),
                    cluster("app", hc, good.port(), dead)))) {
                Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> healthy(p, good.port()));
                assertThat(healthy(p, dead)).isFalse();
                for (int i = 0; i < 6; i++) {
                    assertThat(body(p)).isEqualTo("good");
                }
            }
        }
    }
}
