package dev.trellis.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.testing.InheritedSignals;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import dev.trellis.demo.user.grpc.v1.CreateUserRequest;
import dev.trellis.demo.user.grpc.v1.GetUserRequest;
import dev.trellis.demo.user.grpc.v1.User;
import dev.trellis.demo.user.grpc.v1.UserServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code trellis demo} started from the sidecar jar as a user would, then used: users created and
 * read back over REST and over gRPC (through the gateway and both sidecars, HTTP/2 end to end), one
 * welcome notification per user (also across a notification-service restart), the AccessPolicy's
 * refusal over REST and gRPC, rolling restarts of user-service under load, and a clean stop. The
 * demo gets this JVM's pid as {@code --parent-pid}, so it stops everything even if this JVM dies.
 * Each phase prints how long it took; {@code -Dtrellis.e2e.demo=false} skips it (about two minutes).
 */
@org.junit.jupiter.api.condition.DisabledIfSystemProperty(named = "trellis.e2e.demo", matches = "false")
class DemoEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    Process demo;
    Path demoOut;
    List<ProcessHandle> tree = List.of();

    /** Whatever a failed run left: every process of the demo's tree is killed and awaited. */
    @AfterEach
    void cleanUp() throws Exception {
        if (grpcChannel != null) {
            grpcChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        List<ProcessHandle> left = new ArrayList<>(tree);
        if (demo != null) {
            left.addAll(demo.descendants().toList()); // also instances restarted since the last snapshot
            left.add(demo.toHandle());
        }
        left.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : left) {
            p.onExit().get(30, TimeUnit.SECONDS);
        }
    }

    /** A base port with the 200 ports above it free on loopback. */
    static int freeBase() {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = 20_000 + 200 * ThreadLocalRandom.current().nextInt(150);
            boolean free = true;
            for (int p = base; p < base + 200 && free; p++) {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new AssertionError("no free block of 200 ports");
    }

    ManagedChannel grpcChannel;

    static Metadata bearer(String jwt) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + jwt);
        return md;
    }

    /** The status a call ends with (OK when it succeeds). */
    static Status.Code grpcStatus(Runnable call) {
        try {
            call.run();
            return Status.Code.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }

    final long startNanos = System.nanoTime();

    /** Where the time goes: one line per phase on the test's output. */
    void phase(String what) {
        System.out.printf("DemoEndToEndTest: %s after %d s%n", what, (System.nanoTime() - startNanos) / 1_000_000_000L);
    }

    String output() throws IOException {
        return Files.exists(demoOut) ? Files.readString(demoOut) : "";
    }

    String logs() throws IOException {
        StringBuilder sb = new StringBuilder("demo output:\n").append(output());
        Path logs = dir.resolve("demo/logs");
        if (Files.isDirectory(logs)) {
            try (var files = Files.list(logs)) {
                for (Path f : files.sorted().toList()) {
                    List<String> lines = Files.readAllLines(f);
                    sb.append("\n--- ").append(f.getFileName()).append(" (last 15 lines)\n")
                            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size())));
                }
            }
        }
        return sb.toString();
    }

    static HttpClient client(Optional<Path> caFile) throws Exception {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1);
        if (caFile.isPresent()) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            try (InputStream in = Files.newInputStream(caFile.get())) {
                ks.setCertificateEntry("edge", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            b.sslContext(ssl);
        }
        return b.build();
    }

    record Reply(int status, JsonNode body, String text) {}

    static Reply send(HttpClient c, String method, String url, String body, String jwt) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15));
        if (jwt != null) {
            b.header("Authorization", "Bearer " + jwt);
        }
        if (body != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> r = c.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode j = null;
        try {
            j = r.body().isBlank() ? null : JSON.readTree(r.body());
        } catch (IOException e) {
            // not JSON
        }
        return new Reply(r.statusCode(), j, r.body());
    }

    /** The trellis run process of an instance (found by its sidecar log's name on the command line). */
    Optional<ProcessHandle> runProcess(String instance) {
        return demo.descendants().filter(p -> p.info().commandLine().orElse("").contains(instance + ".sidecar.log")
                && p.info().commandLine().orElse("").contains(" run ")).findFirst();
    }

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void theDemoMeshServesUsersNotifiesOncePerUserRefusesDeniedCallsRestartsWithoutLossAndStopsClean() throws Exception {
        int base = freeBase();
        demoOut = dir.resolve("demo.out");
        Path folder = dir.resolve("demo");
        demo = new ProcessBuilder(Jars.java(), "-Dtrellis.home=" + Jars.ROOT, "-jar", Jars.existing(Jars.SIDECAR).toString(),
                "demo", "--dir", folder.toString(), "--control-plane-port", String.valueOf(base + 12),
                "--control-plane-admin-port", String.valueOf(base + 14), "--gateway-port", String.valueOf(base + 43),
                "--port-base", String.valueOf(base + 100), "--ready-timeout", "150s",
                "--parent-pid", String.valueOf(ProcessHandle.current().pid()))
                .redirectErrorStream(true).redirectOutput(demoOut.toFile()).start();
        Path state = folder.resolve("demo.json");
        await("the demo to be ready").atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(500)).until(() -> {
            assertThat(demo.isAlive()).as("the demo is running; " + logs()).isTrue();
            return Files.exists(state);
        });
        JsonNode s = JSON.readTree(state.toFile());
        phase("demo ready");
        String out = output();
        assertThat(out).contains("Trellis demo is running", "export TOKEN=" + s.path("jwt").asText(), "curl", "-X POST",
                "/notifications?userId=", "./trellis status");
        tree = demo.descendants().toList();

        assertThat(s.path("gateway").isNull()).as("the demo runs its gateway").isFalse();
        assertThat(s.path("identity").asBoolean()).as("the sidecars have their mesh identity").isTrue();
        String jwt = s.path("jwt").asText();
        Path edgeCa = Path.of(s.path("gatewayCaFile").asText());
        HttpClient http = client(Optional.of(edgeCa));
        String users = s.path("gateway").asText() + "/api/users";
        String notifications = "http://127.0.0.1:" + s.path("notificationService").path("http").asInt() + "/notifications";
        assertThat(send(http, "POST", users, "{\"name\":\"No Token\",\"email\":\"x@example.com\"}", null).status())
                .as("no JWT on /api/").isEqualTo(401);

        // create users and read them back
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Reply r = send(http, "POST", users, "{\"name\":\"User " + i + "\",\"email\":\"u" + i + "@example.com\"}", jwt);
            assertThat(r.status()).as(r.text()).isEqualTo(201);
            ids.add(r.body().path("id").asText());
        }
        for (String id : ids) {
            Reply r = send(http, "GET", users + "/" + id, null, jwt);
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            assertThat(r.body().path("id").asText()).isEqualTo(id);
        }
        // over gRPC: HTTPS (h2) to the gateway with the JWT, mTLS h2 to a user-service sidecar, h2c to the app's gRPC port
        assertThat(out).contains("grpcurl", "UserService/GetUser");
        URI gateway = URI.create(s.path("gateway").asText());
        grpcChannel = NettyChannelBuilder.forAddress(gateway.getHost(), gateway.getPort())
                .sslContext(GrpcSslContexts.forClient().trustManager(edgeCa.toFile()).build()).build();
        UserServiceGrpc.UserServiceBlockingStub grpc = UserServiceGrpc.newBlockingStub(grpcChannel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer(jwt)));
        for (String id : ids) {
            User u = grpc.withDeadlineAfter(15, TimeUnit.SECONDS).getUser(GetUserRequest.newBuilder().setId(id).build());
            assertThat(u.getId()).isEqualTo(id);
            assertThat(u.getName()).startsWith("User ");
        }
        User viaGrpc = grpc.withDeadlineAfter(15, TimeUnit.SECONDS).createUser(CreateUserRequest.newBuilder()
                .setName("Grace Hopper").setEmail("grace@example.com").build());
        Reply back = send(http, "GET", users + "/" + viaGrpc.getId(), null, jwt);
        assertThat(back.status()).as(back.text()).isEqualTo(200);
        assertThat(back.body().path("name").asText()).isEqualTo("Grace Hopper");
        ids.add(viaGrpc.getId());
        phase("users created, read over REST and gRPC");
        assertThat(grpcStatus(() -> grpc.withDeadlineAfter(15, TimeUnit.SECONDS)
                .getUser(GetUserRequest.newBuilder().setId("no-such-user").build())))
                .as("the app's own answer").isEqualTo(Status.Code.NOT_FOUND);
        assertThat(grpcStatus(() -> UserServiceGrpc.newBlockingStub(grpcChannel).withDeadlineAfter(15, TimeUnit.SECONDS)
                .getUser(GetUserRequest.newBuilder().setId(ids.get(0)).build())))
                .as("no JWT").isEqualTo(Status.Code.UNAUTHENTICATED);

        // the other instance reads the same data (one database per service, shared by its instances)
        Reply other = send(client(Optional.empty()), "GET",
                "http://127.0.0.1:" + s.path("userService").get(1).path("http").asInt() + "/users/" + ids.get(0), null, null);
        assertThat(other.status()).isEqualTo(200);

        // exactly one welcome notification per user, delivered by the outbox through both sidecars
        HttpClient plain = client(Optional.empty());
        awaitOneNotificationEach(plain, notifications, ids);

        // notification-service restarted while users are being created: still exactly one each
        ProcessHandle notificationRun = runProcess("notification-service-1").orElseThrow();
        List<String> more = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Reply r = send(http, "POST", users, "{\"name\":\"Before " + i + "\",\"email\":\"b" + i + "@example.com\"}", jwt);
            assertThat(r.status()).as(r.text()).isEqualTo(201);
            more.add(r.body().path("id").asText());
        }
        notificationRun.destroy(); // SIGTERM: its sidecar deregisters, then the app stops; the demo starts it again
        for (int i = 0; i < 5; i++) {
            Reply r = send(http, "POST", users, "{\"name\":\"During " + i + "\",\"email\":\"d" + i + "@example.com\"}", jwt);
            assertThat(r.status()).as(r.text()).isEqualTo(201);
            more.add(r.body().path("id").asText());
        }
        assertThat(notificationRun.onExit().get(60, TimeUnit.SECONDS).isAlive()).isFalse();
        await("notification-service back").atMost(Duration.ofSeconds(90)).ignoreExceptions()
                .until(() -> send(plain, "GET", "http://127.0.0.1:" + s.path("notificationService").path("http").asInt() + "/ready",
                        null, null).status() == 200);
        ids.addAll(more);
        awaitOneNotificationEach(plain, notifications, ids);
        phase("notification-service restarted, one notification per user");

        // notification-service -> user-service is not allowed by the AccessPolicy
        Reply denied = send(plain, "GET", "http://127.0.0.1:" + s.path("notificationService").path("userServiceUpstream").asInt()
                + "/users/" + ids.get(0), null, null);
        assertThat(denied.status()).as("notification-service calling user-service: " + denied.text()).isEqualTo(403);
        ManagedChannel fromNotifications = NettyChannelBuilder.forAddress("127.0.0.1",
                s.path("notificationService").path("userServiceUpstream").asInt()).usePlaintext().build();
        try {
            assertThat(grpcStatus(() -> UserServiceGrpc.newBlockingStub(fromNotifications).withDeadlineAfter(15, TimeUnit.SECONDS)
                    .getUser(GetUserRequest.newBuilder().setId(ids.get(0)).build())))
                    .as("notification-service calling user-service over gRPC").isEqualTo(Status.Code.PERMISSION_DENIED);
        } finally {
            fromNotifications.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }

        rollingRestartUnderLoad(http, users, jwt, ids, s);
        phase("rolling restart of user-service done");
        grpcChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

        // Ctrl-C: everything stops, nothing is left
        phase("stopping");
        tree = demo.descendants().toList();
        // SIGINT, as Ctrl-C sends; SIGTERM where this JVM was started with SIGINT ignored (the demo would inherit that)
        new ProcessBuilder("kill", "-" + InheritedSignals.ctrlC(), String.valueOf(demo.pid())).start().waitFor();
        assertThat(demo.waitFor(120, TimeUnit.SECONDS)).as(logs()).isTrue();
        assertThat(demo.exitValue()).as(logs()).isZero();
        assertThat(tree).as("no process left").noneMatch(ProcessHandle::isAlive);
        assertThat(output()).contains("no process left running");
        phase("stopped");
    }

    /** {@code instances} of {@code service} routable in the registry and every proxy SYNCED. */
    static boolean meshSettled(JsonNode s, String service, int instances) throws Exception {
        String admin = s.path("controlPlaneAdmin").asText();
        String auth = "Bearer " + Files.readString(Path.of(s.path("adminTokenFile").asText())).strip();
        HttpClient plain = client(Optional.empty());
        JsonNode registry = JSON.readTree(plain.send(HttpRequest.newBuilder(URI.create(admin + "/api/v1/registry"))
                .header("Authorization", auth).build(), HttpResponse.BodyHandlers.ofString()).body());
        long routable = 0;
        for (JsonNode i : registry) {
            if (service.equals(i.path("service").asText()) && i.path("routable").asBoolean()) routable++;
        }
        JsonNode proxies = JSON.readTree(plain.send(HttpRequest.newBuilder(URI.create(admin + "/api/v1/proxies"))
                .header("Authorization", auth).build(), HttpResponse.BodyHandlers.ofString()).body());
        for (JsonNode p : proxies) {
            if (!"SYNCED".equals(p.path("state").asText())) return false;
        }
        return routable == instances;
    }

    private void awaitOneNotificationEach(HttpClient c, String notifications, List<String> ids) throws Exception {
        await("one notification per user").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
            Reply all = send(c, "GET", notifications + "?limit=1000", null, null);
            assertThat(all.status()).isEqualTo(200);
            Map<String, Integer> perUser = new ConcurrentHashMap<>();
            all.body().path("items").forEach(n -> perUser.merge(n.path("userId").asText(), 1, Integer::sum));
            for (String id : ids) {
                assertThat(perUser.getOrDefault(id, 0)).as("notifications for " + id).isEqualTo(1);
            }
        });
    }

    private void rollingRestartUnderLoad(HttpClient http, String users, String jwt, List<String> ids, JsonNode s) throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        Set<String> created = ConcurrentHashMap.newKeySet();
        Thread load = new Thread(() -> {
            int i = 0;
            while (running.get()) {
                try {
                    Reply r = i % 10 == 0
                            ? send(http, "POST", users, "{\"name\":\"Load " + i + "\",\"email\":\"l" + i + "@example.com\"}", jwt)
                            : send(http, "GET", users + "/" + ids.get(i % ids.size()), null, jwt);
                    if (r.status() / 100 == 2) {
                        ok.incrementAndGet();
                        if (i % 10 == 0) {
                            created.add(r.body().path("id").asText());
                        }
                    } else {
                        failures.add(r.status() + " " + r.text());
                    }
                } catch (IOException e) {
                    failures.add(e.toString());
                } catch (InterruptedException e) {
                    return;
                }
                i++;
                try {
                    Thread.sleep(5); // steady, not flat out: the machine also runs the whole mesh
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "steady-load");
        load.start();
        try {
            for (int i = 0; i < 2; i++) {
                JsonNode instance = s.path("userService").get(i);
                ProcessHandle run = runProcess(instance.path("instance").asText()).orElseThrow();
                await().atMost(Duration.ofSeconds(30)).until(() -> ok.get() > 20);
                run.destroy();
                assertThat(run.onExit().get(90, TimeUnit.SECONDS).isAlive()).isFalse();
                String ready = "http://127.0.0.1:" + instance.path("sidecarAdmin").asInt() + "/ready";
                await(instance.path("instance").asText() + " back").atMost(Duration.ofSeconds(120)).ignoreExceptions()
                        .until(() -> send(client(Optional.empty()), "GET", ready, null, null).status() == 200);
                // as an operator's rolling restart does: the next instance goes only once this one is
                // routable again and every proxy has ACKed the endpoints that say so
                await(instance.path("instance").asText() + " routable").atMost(Duration.ofSeconds(60)).ignoreExceptions()
                        .until(() -> meshSettled(s, "user-service", 2));
                int before = ok.get();
                await().atMost(Duration.ofSeconds(30)).until(() -> ok.get() > before + 20);
            }
        } finally {
            running.set(false);
            load.join(30_000);
        }
        assertThat(failures).as("failed client requests during rolling restarts (" + ok.get() + " succeeded)").isEmpty();
        List<String> all = new ArrayList<>(ids);
        all.addAll(created);
        awaitOneNotificationEach(client(Optional.empty()),
                "http://127.0.0.1:" + s.path("notificationService").path("http").asInt() + "/notifications", all);
    }
}
