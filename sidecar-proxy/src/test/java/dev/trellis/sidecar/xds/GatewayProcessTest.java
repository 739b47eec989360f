package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.common.cli.HostPort;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.testing.TestPki;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code trellis gateway} as its own JVM (the sidecar jar's main class on this test's class path)
 * against a real control plane in its default mode (TLS, STRICT mTLS): join token and CA bundle
 * from files, HTTPS checked with {@code curl}, routes to two services, and the certificate file
 * replaced while a connection stays open.
 */
class GatewayProcessTest {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private ControlPlane cp;
    private Process gateway;
    private Path dir;

    @AfterEach
    void stop() throws Exception {
        if (gateway != null) {
            gateway.destroy();
            if (!gateway.waitFor(20, TimeUnit.SECONDS)) {
                gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        for (int i = closeables.size() - 1; i >= 0; i--) closeables.get(i).close();
        if (cp != null) cp.close();
    }

    private Path token(String service) throws Exception {
        return Files.writeString(dir.resolve(service + ".token"), cp.identity().tokens().create(service, Duration.ofHours(1)).token());
    }

    private MeshSidecar sidecar(String service, TestApp app) throws Exception {
        MeshSidecar.Options o = MeshSidecar.Options.of(service, app.port(), new HostPort("127.0.0.1", cp.grpcPort()))
                .withPorts(0, Mesh.freePort(), 0)
                .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(5), MeshSidecar.Options.DEFAULT_RESTART_SETTLE, 1);
        MeshSidecar s = MeshSidecar.start(o, new IdentityOptions(dir.resolve("cp").resolve("ca-bundle.pem"), token(service)));
        closeables.add(s);
        return s;
    }

    /** curl over HTTPS trusting only the test CA: the body, then "status http-version" on the last line. */
    private static String curl(TestPki pki, int port, String path, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--cacert", pki.ca().toString(),
                "-w", "\n%{http_code} %{http_version}"));
        cmd.addAll(List.of(options));
        cmd.add("https://localhost:" + port + path);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out.trim();
    }

    private static SSLSocket connect(TestPki pki, int port) throws Exception {
        SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket("localhost", port);
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    private static String subject(SSLSocket s) {
        try {
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One keep-alive HTTP/1.1 request on {@code s}: "status-line body". */
    private static String get(SSLSocket s, String path) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
        String status = in.readLine();
        int length = 0;
        String line;
        while (!(line = in.readLine()).isEmpty()) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        char[] body = new char[length];
        int read = 0;
        while (read < length) {
            read += in.read(body, read, length - read);
        }
        return status + " " + new String(body);
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS) // a JVM of its own: slow to start on a loaded machine
    void gatewayProcessServesHttpsToTwoServicesAndSwapsItsCertificateWithoutDroppingConnections() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "gateway-process");
        Path policy = Files.createDirectories(dir.resolve("policy"));
        Files.writeString(policy.resolve("mesh.yaml"), """
                kind: MeshConfig
                name: default
                spec:
                  defaults:
                    loadBalancer: round_robin
                    retries: {attempts: 0}
                """);
        Files.writeString(policy.resolve("edge.yaml"), """
                kind: Gateway
                name: edge
                spec:
                  port: 8443              # replaced by --listen
                  routes:
                    - {pathPrefix: /a, service: svc-a, rewritePrefix: /}
                    - {pathPrefix: /b, service: svc-b}
                """);
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(dir.resolve("cp")).policyDir(policy)
                .gracePeriod(Duration.ofMillis(300)).debounce(Duration.ofMillis(20)).start();
        TestApp a = new TestApp("svc-a-app");
        TestApp b = new TestApp("svc-b-app");
        closeables.add(a);
        closeables.add(b);
        MeshSidecar sa = sidecar("svc-a", a);
        MeshSidecar sb = sidecar("svc-b", b);

        TestPki pki = new TestPki();
        Path[] first = pki.leaf("first", "spiffe://edge.test/gateway");
        Path cert = Files.copy(first[0], dir.resolve("edge.pem"));
        Path key = Files.copy(first[1], dir.resolve("edge-key.pem"));
        int https = Mesh.freePort();
        int admin = Mesh.freePort();
        Path log = dir.resolve("gateway.log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), "dev.trellis.sidecar.cli.SidecarMain",
                "gateway", "--name", "edge", "--control-plane", "127.0.0.1:" + cp.grpcPort(),
                "--token-file", token("edge").toString(), "--ca-file", dir.resolve("cp").resolve("ca-bundle.pem").toString(),
                "--listen", String.valueOf(https), "--tls-cert", cert.toString(), "--tls-key", key.toString(),
                "--admin-port", String.valueOf(admin), "--admin-address", "0.0.0.0", "--io-threads", "1"));
        gateway = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();

        await().atMost(Duration.ofSeconds(200)).pollInterval(Duration.ofMillis(250)).until(() -> {
            assertThat(gateway.isAlive()).as("gateway process alive; its log:\n%s", Files.readString(log)).isTrue();
            try {
                return Mesh.get(admin, "/ready").statusCode() == 200 && sa.ready() && sb.ready();
            } catch (java.io.IOException e) {
                return false;
            }
        });
        // routes to both services once their endpoints have reached the gateway
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            assertThat(curl(pki, https, "/a/hello")).isEqualTo("svc-a-app\n200 2");
            assertThat(curl(pki, https, "/b/hello")).isEqualTo("svc-b-app\n200 2");
        });
        assertThat(curl(pki, https, "/b/hello", "--http1.1", "--tlsv1.2", "--tls-max", "1.2")).isEqualTo("svc-b-app\n200 1.1");
        assertThat(curl(pki, https, "/a/hello", "--http2", "--tlsv1.3")).isEqualTo("svc-a-app\n200 2");
        // --admin-address 0.0.0.0: the admin server answers on this host's other addresses too (probes dial the pod IP)
        java.util.Optional<java.net.InetAddress> external = java.net.NetworkInterface.networkInterfaces()
                .flatMap(java.net.NetworkInterface::inetAddresses)
                .filter(ip -> ip instanceof java.net.Inet4Address && !ip.isLoopbackAddress() && !ip.isLinkLocalAddress()).findFirst();
        if (external.isPresent()) {
            assertThat(Mesh.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://"
                    + external.get().getHostAddress() + ":" + admin + "/health")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> ready = Mesh.get(admin, "/ready");
        assertThat(ready.statusCode()).isEqualTo(200);

        SSLSocket open = connect(pki, https);
        assertThat(subject(open)).isEqualTo("CN=first");
        assertThat(get(open, "/a/hello")).isEqualTo("HTTP/1.1 200 OK svc-a-app");
        // replace both files the way tools do: write aside, then rename over
        Path[] second = pki.leaf("second", "spiffe://edge.test/gateway");
        Path tmpKey = Files.copy(second[1], dir.resolve("edge-key.pem.tmp"));
        Path tmpCert = Files.copy(second[0], dir.resolve("edge.pem.tmp"));
        Files.move(tmpKey, key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmpCert, cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
            try (SSLSocket s = connect(pki, https)) {
                return subject(s).equals("CN=second");
            }
        });
        assertThat(curl(pki, https, "/b/hello")).isEqualTo("svc-b-app\n200 2");
        // the connection opened before the swap still serves, on its old certificate
        assertThat(get(open, "/b/hello")).isEqualTo("HTTP/1.1 200 OK svc-b-app");
        assertThat(subject(open)).isEqualTo("CN=first");
        open.close();
        assertThat(gateway.isAlive()).isTrue();
    }
}
