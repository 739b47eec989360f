package dev.trellis.sidecar.xds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.common.cli.HostPort;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.sidecar.registration.AppHealthChecker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A real control plane (in process, real sockets) and the real sidecars and apps of one test. */
final class Mesh implements AutoCloseable {
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    static final ObjectMapper json = new ObjectMapper();
    /** Probe fast so health changes show within a test's patience. */
    static final AppHealthChecker.Settings FAST_HEALTH =
            new AppHealthChecker.Settings("/health", Duration.ofMillis(200), Duration.ofMillis(500), 1, 1);

    ControlPlane cp;
    final Duration grace;
    final List<AutoCloseable> closeables = new ArrayList<>();

    Mesh(Duration grace) throws Exception {
        this(grace, 0);
    }

    Mesh(Duration grace, int port) throws Exception {
        this(grace, port, POLICY);
    }

    /** With {@code policy} (a MeshConfig document) as the mesh's policy file. */
    Mesh(Duration grace, int port, String policy) throws Exception {
        this.grace = grace;
        this.policy = policy;
        cp = startControlPlane(port);
    }

    /**
     * Mesh defaults this build's flags-mode sidecar can apply: plaintext (its workload identity is
     * not wired in yet), round robin and no route retries (peak EWMA and retry policies come with
     * the resilience work).
     */
    static final String POLICY = """
            kind: MeshConfig
            name: default
            spec:
              tlsMode: disable
              defaults:
                loadBalancer: round_robin
                retries: {attempts: 0}
            """;
    private final String policy;
    private Path policyDir;

    ControlPlane startControlPlane(int port) throws Exception {
        if (policyDir == null) {
            policyDir = Files.createTempDirectory(Files.createDirectories(Path.of("target", "xds-policy")), "policy");
            Files.writeString(policyDir.resolve("mesh.yaml"), policy);
        }
        // plaintext and an open admin API: the sidecar's control-plane channel is plaintext for now
        return ControlPlane.builder().port(port).adminPort(0).gracePeriod(grace).debounce(Duration.ofMillis(20))
                .policyDir(policyDir)
                .plaintext()
                .adminGuard(dev.trellis.controlplane.admin.AdminServer.Guard.ALLOW_ALL).start();
    }

    /** Rewrites the policy file; the control plane applies it within a second. */
    void policy(String yaml) throws IOException {
        Files.writeString(policyDir.resolve("mesh.yaml"), yaml);
    }

    HostPort address() {
        return new HostPort("127.0.0.1", cp.grpcPort());
    }

    TestApp app(String name) throws IOException {
        TestApp a = new TestApp(name);
        closeables.add(a);
        return a;
    }

    MeshSidecar.Options options(String service, TestApp app, Map<String, Integer> upstreams) {
        return MeshSidecar.Options.of(service, app.port(), address())
                .withPorts(0, freePort(), 0)
                .withUpstreams(upstreams)
                .withTiming(FAST_HEALTH, Duration.ofSeconds(5), MeshSidecar.Options.DEFAULT_RESTART_SETTLE, 1);
    }

    MeshSidecar sidecar(MeshSidecar.Options o) throws InterruptedException {
        MeshSidecar s = MeshSidecar.start(o);
        closeables.add(s);
        return s;
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** {@code GET path} with {@code Host: host} on a fresh connection: "status body". */
    static String getWithHost(int port, String path, String host) throws IOException {
        try (dev.trellis.sidecar.testing.Raw raw = new dev.trellis.sidecar.testing.Raw(port)) {
            raw.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
            String all = raw.readUntilClose(5000);
            int sp = all.indexOf(' ');
            String status = all.substring(sp + 1, sp + 4);
            return status + " " + all.substring(all.indexOf("\r\n\r\n") + 4);
        }
    }

    static int port(MeshSidecar s, String listener) {
        return s.listenerAddress(listener).getPort();
    }

    static int ready(MeshSidecar s) throws IOException, InterruptedException {
        return get(s.sidecar().adminAddress().getPort(), "/ready").statusCode();
    }

    JsonNode admin(String path) throws IOException, InterruptedException {
        return json.readTree(get(cp.adminPort(), path).body());
    }

    int put(String kind, String name, String yaml) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.adminPort()
                        + "/api/v1/policy/" + kind + "/" + name))
                .header("content-type", "application/yaml").PUT(HttpRequest.BodyPublishers.ofString(yaml)).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Override
    public void close() {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                AutoCloseable c = closeables.get(i);
                if (c instanceof MeshSidecar m) {
                    m.abort();
                } else {
                    c.close();
                }
            } catch (Exception e) {
                // keep closing the rest
            }
        }
        if (cp != null) {
            cp.close();
        }
    }
}
