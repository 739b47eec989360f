package dev.trellis.sidecar.identity;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.trellis.certs.CertificateAuthority;
import dev.trellis.certs.CertifiedKey;
import dev.trellis.certs.KeyPairs;
import dev.trellis.certs.MeshKeyManager;
import dev.trellis.certs.Pem;
import dev.trellis.certs.SvidTrustManager;
import dev.trellis.certs.internal.CertificateBuilder;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.testing.MutableClock;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Sidecar to sidecar mTLS with certificates from the real control plane (join token, CSR, SDS names
 * {@code default}/{@code ROOTCA}): the X509-SVID rules at handshake level, rotation under load,
 * and openssl/curl as outside clients of the inbound port.
 */
class MeshMtlsTest {
    static final String USERS = "spiffe://trellis.local/ns/default/sa/users";
    static Path dir;
    static ControlPlane cp;
    static ScheduledExecutorService scheduler;
    static final MutableClock clock = MutableClock.startingNow();
    static WorkloadIdentity users;
    static WorkloadIdentity orders;
    static Backend app;
    static Sidecar inbound;
    static Sidecar outbound;
    static final ListAppender<ILoggingEvent> refusals = new ListAppender<>();

    static String sds(String type, String extra, String sanUri) {
        String validation = sanUri == null ? "'validation_context_sds_secret_config': {'name': 'ROOTCA'}"
                : "'combined_validation_context': {'default_validation_context': {'match_typed_subject_alt_names': "
                + "[{'san_type': 'URI', 'matcher': {'exact': '" + sanUri + "'}}]}, 'validation_context_sds_secret_config': {'name': 'ROOTCA'}}";
        return j("{'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
                + type + "'," + extra + "'common_tls_context': {'tls_certificate_sds_secret_configs': [{'name': 'default'}], " + validation + "}}}");
    }

    static Sidecar sidecar(String yaml, MeshTls mesh) throws Exception {
        Path f = Files.createTempFile(dir, "bootstrap", ".yaml");
        Files.writeString(f, yaml);
        return Sidecar.start(() -> BootstrapLoader.load(f), 2, mesh);
    }

    static WorkloadIdentity identity(String service) throws Exception {
        String token = cp.identity().tokens().create(service, Duration.ofHours(1)).token();
        WorkloadIdentity id = WorkloadIdentity.builder("127.0.0.1:" + cp.grpcPort(), cp.trustBundle(), service)
                .token(token).node("sidecar~" + service + "~1").scheduler(scheduler).clock(clock).build().start();
        id.firstCertificate().get(20, TimeUnit.SECONDS);
        return id;
    }

    @BeforeAll
    static void start() throws Exception {
        ((Logger) LoggerFactory.getLogger(SvidTrustManager.class)).addAppender(refusals);
        refusals.start();
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "mesh-mtls");
        // one clock for the CA and the sidecars: a loaded machine must not make fresh leaves look not yet valid
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(dir.resolve("cp")).clock(clock).start();
        scheduler = Executors.newScheduledThreadPool(1);
        users = identity("users");
        orders = identity("orders");
        app = new Backend("users-app");
        inbound = sidecar(bootstrap(listener("inbound", "", vhost(route("/", "app")),
                sds("DownstreamTlsContext", "'require_client_certificate': true,", null)), cluster("app", "", app.port())), users);
        int port = inbound.listenerAddress("inbound").getPort();
        outbound = sidecar(bootstrap(listener("out", "", vhost(route("/impersonated", "impersonated"), route("/h2", "users-h2"),
                        route("/", "users"))),
                cluster("users", "'transport_socket': " + sds("UpstreamTlsContext", "", USERS), port) + ","
                        + cluster("users-h2", "'transport_socket': " + sds("UpstreamTlsContext", "", USERS) + ","
                        + dev.trellis.sidecar.testing.Boot.HTTP2, port) + ","
                        + cluster("impersonated", "'transport_socket': " + sds("UpstreamTlsContext", "",
                        "spiffe://trellis.local/ns/default/sa/payments"), port)), orders);
    }

    @AfterAll
    static void stop() {
        if (outbound != null) outbound.close();
        if (inbound != null) inbound.close();
        if (app != null) app.close();
        if (users != null) users.close();
        if (orders != null) orders.close();
        if (scheduler != null) scheduler.shutdownNow();
        if (cp != null) cp.close();
        ((Logger) LoggerFactory.getLogger(SvidTrustManager.class)).detachAppender(refusals);
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + outbound.listenerAddress("out").getPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String refusalLog(String contains) {
        return refusals.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains(contains)).findFirst().orElse(null);
    }

    @Test
    void sidecarsTalkMutualTlsWithCertificatesFromTheControlPlane() throws Exception {
        HttpResponse<String> r = get("/hello");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-backend")).contains("users-app");
        assertThat(get("/h2").statusCode()).isEqualTo(200);
        assertThat(users.certificate().get().spiffeId().get().toString()).isEqualTo(USERS);
        assertThat(users.secondsToExpiry()).isBetween(23.0 * 3600, 24.0 * 3600 + 60);
        assertThat(users.ready()).isTrue();
    }

    @Test
    void impersonationIsRefusedByTheCallingSidecar() throws Exception {
        HttpResponse<String> r = get("/impersonated");
        assertThat(r.statusCode()).isEqualTo(503);
        await().atMost(Duration.ofSeconds(5)).until(() -> refusalLog("refused: wrong SPIFFE ID: peer is " + USERS) != null);
        assertThat(refusalLog("refused: wrong SPIFFE ID")).contains("server certificate", "(expected: spiffe://trellis.local/ns/default/sa/payments)");
    }

    /** A client certificate the inbound port must refuse, with the reason it must log. */
    record Bad(String name, List<X509Certificate> chain, PrivateKey key, String logged) {}

    @Test
    void inboundRefusesEveryCertificateThatBreaksTheSvidRules() throws Exception {
        PrivateKey caKey = Pem.readPrivateKey(dir.resolve("cp").resolve(CertificateAuthority.KEY_FILE));
        X509Certificate caCert = cp.identity().ca().signingCertificate();
        Instant now = clock.instant(); // the sidecars' time, not the wall clock's
        KeyPair unknownCa = KeyPairs.ecP256();
        X509Certificate foreignRoot = new CertificateBuilder().subject("CN=foreign").publicKey(unknownCa.getPublic())
                .selfSigned(unknownCa.getPrivate()).validity(now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1))).ca(0).build();
        List<Bad> cases = new ArrayList<>();
        KeyPair kp = KeyPairs.ecP256();
        cases.add(new Bad("unknown CA", List.of(leaf(kp, foreignRoot, unknownCa.getPrivate(), now, List.of("spiffe://trellis.local/ns/default/sa/orders"), false)),
                kp.getPrivate(), "refused: unknown CA"));
        kp = KeyPairs.ecP256();
        cases.add(new Bad("expired", List.of(leaf(kp, caCert, caKey, now.minus(Duration.ofDays(2)), List.of("spiffe://trellis.local/ns/default/sa/orders"), false)),
                kp.getPrivate(), "refused: expired"));
        kp = KeyPairs.ecP256();
        cases.add(new Bad("not yet valid", List.of(leaf(kp, caCert, caKey, now.plus(Duration.ofDays(2)), List.of("spiffe://trellis.local/ns/default/sa/orders"), false)),
                kp.getPrivate(), "refused: not yet valid"));
        kp = KeyPairs.ecP256();
        cases.add(new Bad("CA=true leaf", List.of(leaf(kp, caCert, caKey, now, List.of("spiffe://trellis.local/ns/default/sa/orders"), true)),
                kp.getPrivate(), "refused: leaf is a CA"));
        kp = KeyPairs.ecP256();
        cases.add(new Bad("two URI SANs", List.of(leaf(kp, caCert, caKey, now, List.of("spiffe://trellis.local/ns/default/sa/orders",
                "spiffe://trellis.local/ns/default/sa/admin"), false)), kp.getPrivate(), "refused: more than one URI SAN"));
        kp = KeyPairs.ecP256();
        cases.add(new Bad("other trust domain", List.of(leaf(kp, caCert, caKey, now, List.of("spiffe://evil.example/ns/default/sa/orders"), false)),
                kp.getPrivate(), "refused: wrong trust domain"));

        int port = inbound.listenerAddress("inbound").getPort();
        for (Bad bad : cases) {
            CertifiedKey key = new CertifiedKey(bad.key(), bad.chain());
            assertThat(exchange(port, key)).as(bad.name()).isNull();
            await(bad.name()).atMost(Duration.ofSeconds(5)).until(() -> refusalLog(bad.logged()) != null);
            assertThat(refusalLog(bad.logged())).as(bad.name()).contains("mTLS client certificate");
        }
        // without a client certificate: STRICT refuses too; with the real one it works
        assertThat(exchange(port, null)).isNull();
        assertThat(exchange(port, orders.certificate().get())).startsWith("HTTP/1.1 200");
    }

    static X509Certificate leaf(KeyPair kp, X509Certificate issuer, PrivateKey issuerKey, Instant from, List<String> uris, boolean ca)
            throws Exception {
        CertificateBuilder b = new CertificateBuilder().subject("CN=bad").publicKey(kp.getPublic()).issuer(issuer, issuerKey)
                .validity(from.minus(Duration.ofMinutes(1)), from.plus(Duration.ofHours(1))).serverAuth().clientAuth();
        if (ca) b.ca(0);
        uris.forEach(b::uri);
        return b.build();
    }

    /** One HTTP/1.1 GET over TLS presenting {@code key}; the status line, or null when the server refused. */
    static String exchange(int port, CertifiedKey key) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(key == null ? null : new javax.net.ssl.KeyManager[] {new MeshKeyManager(() -> key)},
                new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
                    // the server's identity is not what this test is about
                    public void checkClientTrusted(X509Certificate[] c, String a) {}

                    public void checkServerTrusted(X509Certificate[] c, String a) {}

                    public X509Certificate[] getAcceptedIssuers() {
                        return new X509Certificate[0];
                    }
                }}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: users\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64];
            int n = in.read(buf);
            return n <= 0 ? null : new String(buf, 0, n, StandardCharsets.US_ASCII);
        } catch (java.io.IOException e) {
            return null; // TLS 1.3 reports a refused client certificate on the first read, or as a reset
        }
    }

    @Test
    void leafRotationUnderLoadFailsNoRequest() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<Thread> clients = load(running, ok, failures);
        try {
            X509Certificate before = users.certificate().get().leaf();
            // renewal at half-life with jitter: the next attempt is between 40% and 50% of the lifetime
            Instant next = users.rotator().nextAttempt().get();
            CertifiedKey k = users.certificate().get();
            assertThat(Duration.between(k.notBefore(), next).toMinutes()).isBetween((long) (k.lifetime().toMinutes() * 0.4) - 1,
                    (long) (k.lifetime().toMinutes() * 0.5) + 1);
            for (int i = 0; i < 3; i++) {
                int seen = ok.get();
                X509Certificate u = users.certificate().get().leaf();
                X509Certificate o = orders.certificate().get().leaf();
                users.renewNow();
                orders.renewNow();
                await().atMost(Duration.ofSeconds(10)).until(() -> !users.certificate().get().leaf().equals(u)
                        && !orders.certificate().get().leaf().equals(o) && ok.get() > seen + 20);
            }
            // new connections present the new certificate
            X509Certificate served = serverCertificate(inbound.listenerAddress("inbound").getPort());
            assertThat(served).isEqualTo(users.certificate().get().leaf()).isNotEqualTo(before);
        } finally {
            running.set(false);
            for (Thread t : clients) t.join(10_000);
        }
        assertThat(failures).isEmpty();
        assertThat(ok.get()).isGreaterThan(60);
    }

    @Test
    void rootRotationUnderLoadFailsNoRequest() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<Thread> clients = load(running, ok, failures);
        X509Certificate oldRoot = cp.identity().ca().signingCertificate();
        try {
            int seen = ok.get();
            var report = cp.identity().rotateRoot(Duration.ofSeconds(20));
            assertThat(report.switched()).as(String.join("\n", report.steps())).isTrue();
            X509Certificate newRoot = cp.identity().ca().signingCertificate();
            // both sidecars renew under the new root (the switch asked them to) and still trust the old one
            await().atMost(Duration.ofSeconds(20)).until(() -> issuedBy(users, newRoot) && issuedBy(orders, newRoot)
                    && ok.get() > seen + 50);
            assertThat(users.trustBundle().roots()).contains(oldRoot, newRoot);
        } finally {
            running.set(false);
            for (Thread t : clients) t.join(10_000);
        }
        assertThat(failures).isEmpty();
    }

    static boolean issuedBy(WorkloadIdentity id, X509Certificate root) {
        return id.certificate().map(k -> k.leaf().getIssuerX500Principal().equals(root.getSubjectX500Principal())).orElse(false);
    }

    static List<Thread> load(AtomicBoolean running, AtomicInteger ok, ConcurrentLinkedQueue<String> failures) {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String path = i == 0 ? "/h2" : "/load";
            Thread t = new Thread(() -> {
                HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                while (running.get()) {
                    try {
                        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                + outbound.listenerAddress("out").getPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200) ok.incrementAndGet();
                        else failures.add(path + " -> " + r.statusCode() + " " + r.headers().firstValue("x-trellis-flags").orElse("") + " " + r.body());
                    } catch (Exception e) {
                        failures.add(path + " -> " + e);
                    }
                }
            }, "load-" + i);
            t.start();
            threads.add(t);
        }
        return threads;
    }

    static X509Certificate serverCertificate(int port) throws Exception {
        CertifiedKey key = orders.certificate().get();
        SSLContext ctx = SSLContext.getInstance("TLS");
        X509Certificate[] seen = new X509Certificate[1];
        ctx.init(new javax.net.ssl.KeyManager[] {new MeshKeyManager(() -> key)}, new javax.net.ssl.TrustManager[] {
                new javax.net.ssl.X509TrustManager() {
                    public void checkClientTrusted(X509Certificate[] c, String a) {}

                    public void checkServerTrusted(X509Certificate[] c, String a) {
                        seen[0] = c[0];
                    }

                    public X509Certificate[] getAcceptedIssuers() {
                        return new X509Certificate[0];
                    }
                }}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.startHandshake();
        }
        return seen[0];
    }

    @Test
    void opensslAndCurlAreOutsideClientsOfTheInboundPort() throws Exception {
        int port = inbound.listenerAddress("inbound").getPort();
        CertifiedKey key = orders.certificate().get();
        Path cert = dir.resolve("orders.pem");
        Path keyFile = dir.resolve("orders-key.pem");
        Path bundle = dir.resolve("cp").resolve("ca-bundle.pem");
        Files.writeString(cert, key.chainPem());
        Files.writeString(keyFile, key.privateKeyPem());
        boolean ran = false;
        if (onPath("openssl")) {
            ran = true;
            String withCert = run("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-CAfile", bundle.toString(),
                    "-cert", cert.toString(), "-key", keyFile.toString(), "-alpn", "h2,http/1.1", "-verify_return_error");
            assertThat(withCert).contains("TLSv1.3", "Verify return code: 0 (ok)", "ALPN protocol: h2", "CN = users");
        } else {
            System.out.println("SKIPPED openssl s_client checks: openssl is not on the PATH");
        }
        if (onPath("curl")) {
            ran = true;
            // the server has a SPIFFE ID, no DNS name: -k skips the host name check (curl cannot check SPIFFE IDs)
            String ok = run("curl", "-sS", "-k", "--http1.1", "--cert", cert.toString(), "--key", keyFile.toString(),
                    "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}", "https://127.0.0.1:" + port + "/");
            assertThat(ok).startsWith("200");
            String refused = run("curl", "-sS", "-k", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:" + port + "/");
            assertThat(refused).doesNotStartWith("200");
        } else {
            System.out.println("SKIPPED curl checks: curl is not on the PATH");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(ran, "neither openssl nor curl is installed (CI installs both)");
    }

    static boolean onPath(String binary) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, binary))) return true;
        }
        return false;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(20, TimeUnit.SECONDS);
        return out;
    }

    @Test
    void aRevokedTokenLeavesTheSidecarNotReadyWithTheReason() throws Exception {
        var created = cp.identity().tokens().create("billing", Duration.ofHours(1));
        cp.identity().tokens().revoke(created.entry().id());
        try (WorkloadIdentity id = WorkloadIdentity.builder("127.0.0.1:" + cp.grpcPort(), cp.trustBundle(), "billing")
                .token(created.token()).scheduler(scheduler).backoff(Duration.ofMillis(200), Duration.ofSeconds(1)).build().start()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> id.lastRefusal().contains("revoked"));
            assertThat(id.lastRefusal()).startsWith("UNAUTHENTICATED: join token '" + created.entry().id() + "' for service 'billing': revoked at");
            assertThat(id.ready()).isFalse();
            assertThat(id.firstCertificate()).isNotDone();
            assertThat(id.rotator().consecutiveFailures()).isPositive();
        }
    }

    @Test
    void expiryGaugeShowsSecondsToExpiry() {
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        users.registerMetrics(registry);
        double v = registry.get(WorkloadIdentity.EXPIRY_GAUGE).tag("service", "users").gauge().value();
        assertThat(v).isBetween(1.0, 24.0 * 3600 + 60);
    }

    @Test
    void sdsSecretsWithoutAWorkloadIdentityAreAConfigError() throws Exception {
        assertThatThrownBy(() -> sidecar(bootstrap(listener("inbound", "", vhost(route("/", "app")),
                sds("DownstreamTlsContext", "", null)), cluster("app", "", app.port())), null))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("listener 'inbound': SDS secrets 'default'/'ROOTCA' need the sidecar's workload identity");
        assertThatThrownBy(() -> sidecar(bootstrap(listener("inbound", "", vhost(route("/", "app")),
                j("{'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',"
                        + "'common_tls_context': {'tls_certificate_sds_secret_configs': [{'name': 'mine'}], 'validation_context_sds_secret_config': {'name': 'ROOTCA'}}}}")),
                cluster("app", "", app.port())), users))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("tls_certificate_sds_secret_configs[0].name: 'mine' (expected: 'default'");
    }
}
