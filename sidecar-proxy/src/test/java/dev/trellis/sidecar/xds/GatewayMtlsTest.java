package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.common.cli.HostPort;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.sidecar.gateway.MeshGateway;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.identity.WorkloadIdentity;
import dev.trellis.sidecar.testing.Raw;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway as workload {@code edge} of the mesh, against the default control plane (TLS port,
 * STRICT mTLS): it gets its certificate with a join token for service {@code edge}, and calls a
 * service whose AccessPolicy allows only {@code edge} over mTLS; another mesh caller is denied and a
 * plaintext caller gets nowhere.
 */
class GatewayMtlsTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private ControlPlane cp;
    private Path dir;

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) closeables.get(i).close();
        if (cp != null) cp.close();
    }

    private IdentityOptions identity(String service, boolean withToken) throws Exception {
        Path token = null;
        if (withToken) {
            token = dir.resolve(service + ".token");
            Files.writeString(token, cp.identity().tokens().create(service, Duration.ofHours(1)).token());
        }
        return new IdentityOptions(dir.resolve("cp").resolve("ca-bundle.pem"), token);
    }

    private MeshSidecar sidecar(String service, TestApp app, Map<String, Integer> upstreams) throws Exception {
        MeshSidecar.Options o = MeshSidecar.Options.of(service, app.port(), new HostPort("127.0.0.1", cp.grpcPort()))
                .withPorts(0, Mesh.freePort(), 0).withUpstreams(upstreams)
                .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(5), MeshSidecar.Options.DEFAULT_RESTART_SETTLE, 1);
        MeshSidecar s = MeshSidecar.start(o, identity(service, true));
        closeables.add(s);
        return s;
    }

    private MeshGateway gateway(String instance, boolean withToken) throws Exception {
        MeshGateway.Options d = MeshGateway.Options.of("edge", new HostPort("127.0.0.1", cp.grpcPort()));
        MeshGateway g = MeshGateway.start(new MeshGateway.Options("edge", d.controlPlane(), OptionalInt.of(0),
                OptionalInt.empty(), Optional.empty(), Optional.empty(), 0, instance, Duration.ofMillis(200), Duration.ZERO, 1),
                identity("edge", withToken));
        closeables.add(g);
        return g;
    }

    @Test
    void gatewayCallsStrictServiceOverMutualTlsAsItsOwnIdentity() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "gateway-mtls");
        Path policy = Files.createDirectories(dir.resolve("policy"));
        Files.writeString(policy.resolve("mesh.yaml"), """
                kind: MeshConfig
                name: default
                spec:
                  defaults:
                    loadBalancer: round_robin
                    retries: {attempts: 0}
                """);
        Files.writeString(policy.resolve("users-access.yaml"), """
                kind: AccessPolicy
                name: users
                spec:
                  default: deny
                  rules:
                    - {action: allow, from: [edge]}
                """);
        Files.writeString(policy.resolve("edge.yaml"), """
                kind: Gateway
                name: edge
                spec:
                  port: 8443              # replaced by --listen 0
                  routes:
                    - {pathPrefix: /, service: users}
                """);
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(dir.resolve("cp")).policyDir(policy)
                .gracePeriod(Duration.ofMillis(300)).debounce(Duration.ofMillis(20)).start();
        TestApp usersApp = new TestApp("users-app");
        TestApp frontApp = new TestApp("front-app");
        closeables.add(usersApp);
        closeables.add(frontApp);
        MeshSidecar users = sidecar("users", usersApp, Map.of());
        MeshSidecar front = sidecar("front", frontApp, Map.of("users", 0));
        MeshGateway edge = gateway("g1", true);
        MeshGateway anonymous = gateway("g2", false);

        await().atMost(Duration.ofSeconds(20)).until(() -> users.ready() && front.ready() && edge.sidecar().ready());
        int gw = edge.listenerAddress(MeshGateway.HTTPS).getPort();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            HttpResponse<String> r = Mesh.get(gw, "/hello");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("users-app");
        });
        // another mesh workload has a valid certificate, but the AccessPolicy allows only the gateway
        HttpResponse<String> denied = Mesh.get(Mesh.port(front, "upstream|users"), "/hello");
        assertThat(denied.statusCode()).as(denied.body()).isEqualTo(403);
        // STRICT: a plaintext caller gets nowhere
        try (Raw raw = new Raw(users.listenerAddress("inbound").getPort())) {
            raw.send("GET /hello HTTP/1.1\r\nHost: users\r\n\r\n");
            assertThat(raw.readUntilClose(5000)).doesNotContain("users-app");
        }
        // without a join token the gateway gets no certificate: no config, not ready
        assertThat(anonymous.sidecar().ready()).isFalse();
        assertThat(anonymous.listenerAddress(MeshGateway.HTTPS)).isNull();
        String metrics = Mesh.get(edge.sidecar().adminAddress().getPort(), "/metrics").body();
        assertThat(metrics).contains(WorkloadIdentity.EXPIRY_GAUGE + "{service=\"edge\"}");
    }
}
