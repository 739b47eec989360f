package dev.trellis.sidecar.identity;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.controlplane.ControlPlane;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.testing.MutableClock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The whole root rotation under continuous load through two real sidecars (mTLS between them,
 * certificates and bundles from a real control plane over TLS): add a root, switch signing, the
 * sidecars renew under it, time passes on the injected clock (renewing at each step, as the
 * rotator would) until nothing the old root signed can be valid, the old root is dropped and the
 * bundle without it pushed; then a new sidecar joins with the new root only. No request fails.
 */
class RootRotationTest {
    private static final String USERS = "spiffe://trellis.local/ns/default/sa/users";
    private final MutableClock clock = MutableClock.startingNow();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private Path dir;
    private ControlPlane cp;
    private ScheduledExecutorService scheduler;

    @AfterEach
    void stop() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) closing.get(i).close();
        if (scheduler != null) scheduler.shutdownNow();
        if (cp != null) cp.close();
    }

    private WorkloadIdentity identity(String service) throws Exception {
        String token = cp.identity().tokens().create(service, Duration.ofHours(1)).token();
        WorkloadIdentity id = WorkloadIdentity.builder("127.0.0.1:" + cp.grpcPort(), cp.trustBundle(), service)
                .token(token).node("sidecar~" + service + "~1").scheduler(scheduler).clock(clock).build().start();
        closing.add(id);
        id.firstCertificate().get(60, TimeUnit.SECONDS); // a cold JVM on a loaded machine is slow
        return id;
    }

    private Sidecar sidecar(String yaml, MeshTls mesh) throws Exception {
        Path f = Files.createTempFile(dir, "bootstrap", ".yaml");
        Files.writeString(f, yaml);
        Sidecar s = Sidecar.start(() -> BootstrapLoader.load(f), 2, mesh);
        closing.add(s);
        return s;
    }

    private Sidecar outbound(WorkloadIdentity id, int inboundPort) throws Exception {
        return sidecar(bootstrap(listener("out", "", vhost(route("/h2", "users-h2"), route("/", "users"))),
                cluster("users", "'transport_socket': " + MeshMtlsTest.sds("UpstreamTlsContext", "", USERS), inboundPort) + ","
                        + cluster("users-h2", "'transport_socket': " + MeshMtlsTest.sds("UpstreamTlsContext", "", USERS) + ","
                        + dev.trellis.sidecar.testing.Boot.HTTP2, inboundPort)), id);
    }

    private static boolean issuedBy(WorkloadIdentity id, X509Certificate root) {
        return id.certificate().map(k -> k.leaf().getIssuerX500Principal().equals(root.getSubjectX500Principal())).orElse(false);
    }

    /** Renews both now and waits until both hold a new leaf and the load went on. */
    private static void renew(AtomicInteger ok, WorkloadIdentity... ids) {
        int seen = ok.get();
        List<X509Certificate> before = new ArrayList<>();
        for (WorkloadIdentity id : ids) {
            before.add(id.certificate().get().leaf());
            id.renewNow();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            for (int i = 0; i < ids.length; i++) {
                if (ids[i].certificate().get().leaf().equals(before.get(i))) return false;
            }
            return ok.get() > seen + 20;
        });
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 4, unit = TimeUnit.MINUTES) // seconds on an idle machine; several rounds of renewals
    void rootRotationToTheDropOfTheOldRootFailsNoRequest() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "root-rotation");
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(dir.resolve("cp")).clock(clock).start();
        scheduler = Executors.newScheduledThreadPool(1);
        WorkloadIdentity users = identity("users");
        WorkloadIdentity orders = identity("orders");
        Backend app = new Backend("users-app");
        closing.add(app);
        Sidecar inbound = sidecar(bootstrap(listener("inbound", "", vhost(route("/", "app")),
                MeshMtlsTest.sds("DownstreamTlsContext", "'require_client_certificate': true,", null)),
                cluster("app", "", app.port())), users);
        int inboundPort = inbound.listenerAddress("inbound").getPort();
        Sidecar out = outbound(orders, inboundPort);

        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        List<Thread> clients = load(out, running, ok, failures);
        X509Certificate oldRoot = cp.identity().ca().signingCertificate();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> ok.get() > 20);
            var report = cp.identity().rotateRoot(Duration.ofSeconds(20));
            assertThat(report.switched()).as(String.join("\n", report.steps())).isTrue();
            X509Certificate newRoot = cp.identity().ca().signingCertificate();
            assertThat(newRoot).isNotEqualTo(oldRoot);
            int seen = ok.get();
            // the switch asked both to renew: new leaves under the new root, both roots trusted meanwhile
            await().atMost(Duration.ofSeconds(30)).until(() -> issuedBy(users, newRoot) && issuedBy(orders, newRoot)
                    && ok.get() > seen + 20);
            assertThat(users.trustBundle().roots()).containsExactlyInAnyOrder(oldRoot, newRoot);

            // time passes (injected clock) until nothing the old root signed can still be valid;
            // the sidecars renew at each step, as they would at half-life
            Instant oldIssuedUntil = issuedUntil(oldRoot);
            assertThat(oldIssuedUntil).isAfter(clock.instant());
            while (!clock.instant().isAfter(oldIssuedUntil)) {
                clock.advance(Duration.ofHours(20)); // the 24 h leaves renewed last step stay valid
                renew(ok, users, orders);
                cp.identity().tick();
            }
            assertThat(cp.trustBundle().roots()).containsExactly(newRoot);
            await().atMost(Duration.ofSeconds(30)).until(() -> users.trustBundle().roots().equals(List.of(newRoot))
                    && orders.trustBundle().roots().equals(List.of(newRoot)));
            assertThat(Files.readString(dir.resolve("cp").resolve("ca-bundle.pem")))
                    .isEqualTo(dev.trellis.certs.Pem.encodeCertificates(List.of(newRoot)));
            assertThat(cp.identity().status()).singleElement().satisfies(r -> assertThat(r.get("role")).isEqualTo("SIGNING"));

            // with the old root gone: leaves rotate again, and a newcomer (fresh handshakes, new bundle only) gets through
            renew(ok, users, orders);
            WorkloadIdentity web = identity("web");
            assertThat(web.trustBundle().roots()).containsExactly(newRoot);
            Sidecar webOut = outbound(web, inboundPort);
            for (String path : List.of("/x", "/h2")) {
                HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + webOut.listenerAddress("out").getPort() + path))
                                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
            int last = ok.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> ok.get() > last + 20);
        } finally {
            running.set(false);
            for (Thread t : clients) t.join(10_000);
        }
        assertThat(failures).isEmpty();
    }

    private Instant issuedUntil(X509Certificate root) throws Exception {
        String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(root.getEncoded()));
        for (Map<String, Object> r : cp.identity().status()) {
            if (r.get("sha256").equals(sha)) return Instant.parse((String) r.get("issuedUntil"));
        }
        throw new AssertionError("root " + sha + " not in " + cp.identity().status());
    }

    private static List<Thread> load(Sidecar out, AtomicBoolean running, AtomicInteger ok, ConcurrentLinkedQueue<String> failures) {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String path = i == 0 ? "/h2" : "/load";
            Thread t = new Thread(() -> {
                HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                while (running.get()) {
                    try {
                        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                + out.listenerAddress("out").getPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200) ok.incrementAndGet();
                        else failures.add(path + " -> " + r.statusCode() + " " + r.headers().firstValue("x-trellis-flags").orElse("")
                                + " " + r.body());
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
}
