package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A Route's fault rules from the real control plane, injected by the caller's sidecar (accepted, not NACKed). */
class MeshFaultTest {
    @Test
    void routeFaultsAbortAndDelayThroughTheOutboundListener() throws Exception {
        try (Mesh mesh = new Mesh(Duration.ofSeconds(5))) {
            TestApp users = mesh.app("users-app");
            TestApp front = mesh.app("front-app");
            MeshSidecar u = mesh.sidecar(mesh.options("users", users, Map.of()));
            MeshSidecar f = mesh.sidecar(mesh.options("front", front, Map.of("users", 0)));
            await().atMost(Duration.ofSeconds(10)).until(() -> u.ready() && f.ready());
            assertThat(mesh.put("Route", "users-faults", """
                    kind: Route
                    name: users-faults
                    spec:
                      service: users
                      rules:
                        - match: {pathPrefix: /abort}
                          fault: {abort: {status: 503, percent: 100}}
                        - match: {pathPrefix: /delay}
                          fault: {delay: {fixed: 400ms, percent: 100}}
                    """)).isBetween(200, 299);
            int outbound = Mesh.port(f, "outbound");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(Mesh.getWithHost(outbound, "/abort", "users")).isEqualTo("503 fault filter abort\n"));
            assertThat(mesh.admin("/api/v1/proxies").toString()).doesNotContain("NACKED");
            long start = System.nanoTime();
            assertThat(Mesh.getWithHost(outbound, "/delay", "users")).isEqualTo("200 users-app");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(400));
            assertThat(Mesh.getWithHost(outbound, "/other", "users")).isEqualTo("200 users-app");
        }
    }
}
