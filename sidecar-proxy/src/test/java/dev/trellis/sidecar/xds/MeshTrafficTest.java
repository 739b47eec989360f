package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real control plane, real sidecars started in flags mode, real apps: registration, xDS and
 * traffic from one app's sidecar to another's inbound listener.
 */
class MeshTrafficTest {
    Mesh mesh;

    @BeforeEach
    void start() throws Exception {
        mesh = new Mesh(Duration.ofMillis(300));
    }

    @AfterEach
    void stop() {
        mesh.close();
    }

    @Test
    void registeredServicesReachEachOtherThroughUpstreamAndOutboundListeners() throws Exception {
        TestApp users = mesh.app("users-app");
        TestApp front = mesh.app("front-app");
        MeshSidecar u = mesh.sidecar(mesh.options("users", users, Map.of()));
        MeshSidecar f = mesh.sidecar(mesh.options("front", front, Map.of("users", 0)));

        await().atMost(Duration.ofSeconds(10)).until(() -> u.ready() && f.ready());
        assertThat(f.nodeId()).startsWith("sidecar~front~front-");
        assertThat(Mesh.ready(f)).isEqualTo(200);

        // the local upstream listener sends everything to 'users', whatever the Host
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            HttpResponse<String> r = Mesh.get(Mesh.port(f, "upstream|users"), "/hello");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("users-app");
            assertThat(r.headers().firstValue("x-path")).hasValue("/hello");
        });
        // the outbound listener routes by Host
        assertThat(Mesh.getWithHost(Mesh.port(f, "outbound"), "/x", "users")).isEqualTo("200 users-app");
        assertThat(Mesh.getWithHost(Mesh.port(f, "outbound"), "/x", "nobody")).startsWith("404 ");
        // the inbound listener is what peers dial, on the registered port
        assertThat(u.listenerAddress("inbound").getPort()).isEqualTo(u.options().inboundPort());
        assertThat(users.requests.get()).isEqualTo(2);

        // the control plane sees both proxies in sync
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            JsonNode proxies = mesh.admin("/api/v1/proxies");
            assertThat(proxies).hasSize(2);
            proxies.forEach(p -> assertThat(p.path("state").asText()).isEqualTo("SYNCED"));
        });
    }

    static int hosts(MeshSidecar s, String cluster) {
        var c = s.sidecar().clusterManager().get(cluster);
        return c == null ? -1 : c.hosts().size();
    }

    @Test
    void killedUnhealthyAndDeregisteredInstancesLeaveTheirPeersEndpoints() throws Exception {
        TestApp a1 = mesh.app("users-1");
        TestApp a2 = mesh.app("users-2");
        TestApp a3 = mesh.app("users-3");
        TestApp front = mesh.app("front-app");
        MeshSidecar u1 = mesh.sidecar(mesh.options("users", a1, Map.of()));
        MeshSidecar u2 = mesh.sidecar(mesh.options("users", a2, Map.of()));
        MeshSidecar u3 = mesh.sidecar(mesh.options("users", a3, Map.of()));
        MeshSidecar f = mesh.sidecar(mesh.options("front", front, Map.of("users", 0)));
        await().atMost(Duration.ofSeconds(10)).until(() -> f.ready() && hosts(f, "outbound|users") == 3);
        int port = Mesh.port(f, "upstream|users");
        for (int i = 0; i < 6; i++) {
            assertThat(Mesh.get(port, "/").statusCode()).isEqualTo(200);
        }
        assertThat(a1.requests.get()).isPositive();
        assertThat(a2.requests.get()).isPositive();
        assertThat(a3.requests.get()).isPositive();

        // killed: the call breaks without deregister; gone once the (300 ms) grace period is over
        long t0 = System.nanoTime();
        u3.abort();
        await().atMost(Duration.ofSeconds(2)).until(() -> hosts(f, "outbound|users") == 2);
        long killedMs = (System.nanoTime() - t0) / 1_000_000;

        // the app turns unhealthy: its sidecar reports it and the instance leaves EDS
        t0 = System.nanoTime();
        a2.health(503);
        await().atMost(Duration.ofSeconds(2)).until(() -> hosts(f, "outbound|users") == 1);
        long unhealthyMs = (System.nanoTime() - t0) / 1_000_000;
        int before = a1.requests.get();
        for (int i = 0; i < 4; i++) {
            assertThat(Mesh.get(port, "/").body()).isEqualTo("users-1");
        }
        assertThat(a1.requests.get()).isEqualTo(before + 4);
        // and comes back when healthy again
        a2.health(200);
        await().atMost(Duration.ofSeconds(2)).until(() -> hosts(f, "outbound|users") == 2);

        // graceful close: peers have dropped the instance before close() returns
        u2.close();
        assertThat(hosts(f, "outbound|users")).isEqualTo(1);
        assertThat(Mesh.get(port, "/").body()).isEqualTo("users-1");
        System.out.printf("killed -> gone in %d ms, unhealthy -> gone in %d ms%n", killedMs, unhealthyMs);
    }

    @Test
    void aResourceTheSidecarCannotApplyIsNackedWithItsReasonAndTrafficGoesOn() throws Exception {
        TestApp users = mesh.app("users-app");
        TestApp front = mesh.app("front-app");
        MeshSidecar u = mesh.sidecar(mesh.options("users", users, Map.of()));
        MeshSidecar f = mesh.sidecar(mesh.options("front", front, Map.of()));
        await().atMost(Duration.ofSeconds(10)).until(() -> u.ready() && f.ready() && hosts(f, "outbound|users") == 1);
        int outbound = Mesh.port(f, "outbound");
        assertThat(Mesh.getWithHost(outbound, "/", "users")).isEqualTo("200 users-app");

        // a CA file the sidecars cannot read: every sidecar without declared upstreams gets the cluster
        assertThat(mesh.put("ExternalService", "payments", """
                kind: ExternalService
                name: payments
                spec:
                  protocol: http
                  endpoints: ["payments.invalid:443"]
                  tls: {sni: payments.invalid, caFile: /nonexistent/trellis-ca.pem}
                """)).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            JsonNode p = proxy(f.nodeId());
            assertThat(p.path("state").asText()).isEqualTo("NACKED");
            assertThat(p.path("resources").path("CDS").path("lastNack").path("error").asText())
                    .contains("CDS[outbound|payments]")
                    .contains("trusted_ca.filename: '/nonexistent/trellis-ca.pem' (not readable)");
        });
        assertThat(f.ads().lastNack()).hasValueSatisfying(e -> assertThat(e).contains("/nonexistent/trellis-ca.pem"));
        // the last good config keeps serving
        assertThat(f.sidecar().clusterManager().get("outbound|payments")).isNull();
        for (int i = 0; i < 5; i++) {
            assertThat(Mesh.getWithHost(outbound, "/", "users")).isEqualTo("200 users-app");
        }
        // and the next good change is taken: the NACKed resource goes away, the proxy is SYNCED again
        HttpResponse<String> del = Mesh.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                "http://127.0.0.1:" + mesh.cp.adminPort() + "/api/v1/policy/ExternalService/payments")).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(del.statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(proxy(f.nodeId()).path("state").asText()).isEqualTo("SYNCED"));
        assertThat(Mesh.getWithHost(outbound, "/", "users")).isEqualTo("200 users-app");
    }

    JsonNode proxy(String node) throws Exception {
        for (JsonNode p : mesh.admin("/api/v1/proxies")) {
            if (p.path("node").asText().equals(node)) {
                return p;
            }
        }
        throw new AssertionError("no proxy " + node);
    }

    @Test
    void readyOnlyOnceRegisteredAndConfigured() throws Exception {
        int cpPort = Mesh.freePort();
        mesh.cp.close();
        mesh.cp = null;
        TestApp users = mesh.app("users-app");
        MeshSidecar.Options o = MeshSidecar.Options.of("users", users.port(), new dev.trellis.common.cli.HostPort("127.0.0.1", cpPort))
                .withPorts(0, Mesh.freePort(), 0)
                .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(2), MeshSidecar.Options.DEFAULT_RESTART_SETTLE, 1);
        MeshSidecar u = mesh.sidecar(o);
        // no control plane yet: the admin server answers, /ready says no
        assertThat(Mesh.get(u.sidecar().adminAddress().getPort(), "/health").statusCode()).isEqualTo(200);
        assertThat(Mesh.ready(u)).isEqualTo(503);
        assertThat(u.sidecar().listenerAddresses()).isEmpty();
        assertThat(u.registration().isRegistered()).isFalse();

        mesh.cp = mesh.startControlPlane(cpPort);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Mesh.ready(u)).isEqualTo(200));
        assertThat(u.registration().isRegistered()).isTrue();
        assertThat(u.sidecar().listenerAddresses()).containsKeys("inbound", "outbound");
        // inbound traffic reaches the app
        assertThat(Mesh.get(o.inboundPort(), "/in").body()).isEqualTo("users-app");
    }
}
