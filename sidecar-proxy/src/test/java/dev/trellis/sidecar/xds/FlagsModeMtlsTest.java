package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.common.cli.HostPort;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.identity.WorkloadIdentity;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Flags-mode sidecars with their workload identity against the default control plane (TLS port,
 * STRICT mesh mTLS): each gets its certificate with its join token before it is ready, and calls
 * between them run over mTLS with the destination's SPIFFE ID checked.
 */
class FlagsModeMtlsTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private ControlPlane cp;
    private Path dir;

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) closeables.get(i).close();
        if (cp != null) cp.close();
    }

    private MeshSidecar sidecar(String service, TestApp app, Map<String, Integer> upstreams, boolean withToken) throws Exception {
        Path token = null;
        if (withToken) {
            token = dir.resolve(service + ".token");
            Files.writeString(token, cp.identity().tokens().create(service, Duration.ofHours(1)).token());
        }
        MeshSidecar.Options o = MeshSidecar.Options.of(service, app.port(), new HostPort("127.0.0.1", cp.grpcPort()))
                .withPorts(0, Mesh.freePort(), 0).withUpstreams(upstreams)
                .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(5), MeshSidecar.Options.DEFAULT_RESTART_SETTLE, 1);
        MeshSidecar s = MeshSidecar.start(o, new IdentityOptions(dir.resolve("cp").resolve("ca-bundle.pem"), token));
        closeables.add(s);
        return s;
    }

    @Test
    void sidecarsGetCertificatesBeforeReadyAndCallEachOtherOverMutualTls() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "flags-mtls");
        Path policy = Files.createDirectories(dir.resolve("policy"));
        Files.writeString(policy.resolve("mesh.yaml"), """
                kind: MeshConfig
                name: default
                spec:
                  trustDomain: corp.example
                  namespace: prod
                  defaults:
                    loadBalancer: round_robin
                    retries: {attempts: 0}
                ---
                kind: AccessPolicy
                name: users
                spec:
                  default: deny
                  rules:
                    - {action: allow, from: [front]}
                """);
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(dir.resolve("cp")).policyDir(policy)
                .gracePeriod(Duration.ofMillis(300)).debounce(Duration.ofMillis(20)).start();
        TestApp usersApp = new TestApp("users-app");
        TestApp frontApp = new TestApp("front-app");
        TestApp billingApp = new TestApp("billing-app");
        closeables.add(usersApp);
        closeables.add(frontApp);
        closeables.add(billingApp);
        MeshSidecar users = sidecar("users", usersApp, Map.of(), true);
        MeshSidecar front = sidecar("front", frontApp, Map.of("users", 0), true);
        MeshSidecar billing = sidecar("billing", billingApp, Map.of(), false);

        await().atMost(Duration.ofSeconds(20)).until(() -> users.ready() && front.ready());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            HttpResponse<String> r = Mesh.get(Mesh.port(front, "upstream|users"), "/hello");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("users-app");
        });
        // no namespace flag: the IDs are the control plane's MeshConfig's, learnt from the certificates,
        // and the xDS SAN check and RBAC principal (front) use the same
        assertThat(front.identity().id()).hasValueSatisfying(id ->
                assertThat(id).hasToString("spiffe://corp.example/ns/prod/sa/front"));
        assertThat(users.identity().certificate().get().spiffeId()).hasValueSatisfying(id ->
                assertThat(id).hasToString("spiffe://corp.example/ns/prod/sa/users"));
        // the inbound port is mTLS: a plaintext caller gets nowhere
        int inbound = users.listenerAddress("inbound").getPort();
        assertThat(Mesh.getWithHost(Mesh.port(front, "outbound"), "/x", "users")).isEqualTo("200 users-app");
        try (dev.trellis.sidecar.testing.Raw raw = new dev.trellis.sidecar.testing.Raw(inbound)) {
            raw.send("GET / HTTP/1.1\r\nHost: users\r\n\r\n");
            assertThat(raw.readUntilClose(5000)).doesNotContain("users-app");
        }
        // without a join token there is no certificate and the sidecar stays not ready
        assertThat(billing.ready()).isFalse();
        assertThat(Mesh.ready(billing)).isEqualTo(503);
        String metrics = Mesh.get(front.sidecar().adminAddress().getPort(), "/metrics").body();
        assertThat(metrics).contains(WorkloadIdentity.EXPIRY_GAUGE + "{service=\"front\"}");
    }
}
