package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.common.cli.HostPort;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.testing.GrpcEcho;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An app that serves REST on {@code --app-port} and gRPC on {@code --app-grpc-port} behind one
 * flags-mode sidecar: a caller's gRPC goes over HTTP/2 end to end (h2c to the caller's sidecar,
 * mTLS with ALPN h2 between the sidecars, h2c to the gRPC port) while its REST calls stay HTTP/1.1
 * and reach the REST port.
 */
class GrpcThroughMeshTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private ControlPlane cp;
    private Path dir;

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) closeables.get(i).close();
        if (cp != null) cp.close();
    }

    private MeshSidecar sidecar(String service, int appPort, int grpcPort, Map<String, Integer> upstreams) throws Exception {
        Path token = dir.resolve(service + ".token");
        Files.writeString(token, cp.identity().tokens().create(service, Duration.ofHours(1)).token());
        MeshSidecar.Options o = MeshSidecar.Options.of(service, appPort, new HostPort("127.0.0.1", cp.grpcPort()))
                .withPorts(0, Mesh.freePort(), 0).withUpstreams(upstreams)
                .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(5), MeshSidecar.Options.DEFAULT_RESTART_SETTLE, 1)
                .withAppGrpcPort(grpcPort);
        MeshSidecar s = MeshSidecar.start(o, new IdentityOptions(dir.resolve("cp").resolve("ca-bundle.pem"), token));
        closeables.add(s);
        return s;
    }

    @Test
    void grpcReachesTheAppsGrpcPortOverHttp2AndRestItsAppPort() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "grpc-mesh");
        Path accessLog = dir.resolve("access.log");
        Path policy = Files.createDirectories(dir.resolve("policy"));
        Files.writeString(policy.resolve("mesh.yaml"), """
                kind: MeshConfig
                name: default
                spec:
                  accessLog: "%s"
                  defaults:
                    loadBalancer: round_robin
                    retries: {attempts: 0}
                """.formatted(accessLog.toAbsolutePath()));
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(dir.resolve("cp")).policyDir(policy)
                .gracePeriod(Duration.ofMillis(300)).debounce(Duration.ofMillis(20)).start();
        TestApp usersRest = new TestApp("users-rest");
        GrpcEcho usersGrpc = new GrpcEcho();
        TestApp frontApp = new TestApp("front-app");
        closeables.add(usersRest);
        closeables.add(usersGrpc);
        closeables.add(frontApp);
        MeshSidecar users = sidecar("users", usersRest.port(), usersGrpc.port(), Map.of());
        MeshSidecar front = sidecar("front", frontApp.port(), 0, Map.of("users", 0));
        await().atMost(Duration.ofSeconds(60)).until(() -> users.ready() && front.ready());
        int upstream = Mesh.port(front, "upstream|users");

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            HttpResponse<String> r = Mesh.get(upstream, "/hello");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("users-rest");
        });
        ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", upstream).usePlaintext().build();
        closeables.add(() -> ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        byte[] reply = ClientCalls.blockingUnaryCall(ch, GrpcEcho.UNARY,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "ping".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(reply, StandardCharsets.UTF_8)).isEqualTo("ping");

        // the users sidecar's inbound listener saw the gRPC call over HTTP/2 (ALPN h2 across the mTLS hop)
        // from front's identity, and the REST call over HTTP/1.1 (each request keeps its caller's protocol)
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            List<JsonNode> inbound = new ArrayList<>();
            for (String line : Files.readAllLines(accessLog)) {
                JsonNode j = Mesh.json.readTree(line);
                if (j.path("source_identity").asText().endsWith("/sa/front")) inbound.add(j);
            }
            assertThat(inbound).anySatisfy(j -> {
                assertThat(j.path("path").asText()).isEqualTo("/test.Echo/Unary");
                assertThat(j.path("protocol").asText()).isEqualTo("HTTP/2");
                assertThat(j.path("grpc_status").asText()).isEqualTo("0");
            });
            assertThat(inbound).anySatisfy(j -> {
                assertThat(j.path("path").asText()).isEqualTo("/hello");
                assertThat(j.path("protocol").asText()).isEqualTo("HTTP/1.1");
            });
        });
    }
}
