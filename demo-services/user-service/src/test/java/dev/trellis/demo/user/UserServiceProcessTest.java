package dev.trellis.demo.user;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.demo.notification.NotificationServiceApp;
import dev.trellis.demo.notification.NotificationServiceConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** user-service as a real process (its main class on this test's classpath), stopped with SIGTERM. */
class UserServiceProcessTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void sigtermFinishesInFlightRequestsFlushesTheOutboxAndLosesNoEvent() throws Exception {
        try (NotificationServiceApp notifications = NotificationServiceApp.start(
                NotificationServiceConfig.defaults(dir.resolve("notifications")), Clock.systemUTC())) {
            Service service = startUserService(dir, "user-service", notifications.port(),
                    "--data-dir", dir.resolve("users").toString());
            Process process = service.process();
            Path stderr = service.stderr();
            try {
                int port = service.port();
                TestHttp http = new TestHttp(port);
                assertThat(http.get("/ready").status()).isEqualTo(200);

                // steady creates until the service goes away
                List<String> created = new ArrayList<>();
                AtomicInteger refused = new AtomicInteger();
                CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
                    for (int i = 0; i < 10_000; i++) {
                        try {
                            TestHttp.Reply r = http.post("/users", TestHttp.json(Map.of("name", "p" + i, "email", "p" + i + "@example.com")));
                            if (r.status() == 201) {
                                synchronized (created) {
                                    created.add(r.body().get("id").asText());
                                }
                            } else {
                                assertThat(r.status()).as("only a shutting-down refusal is allowed").isEqualTo(503);
                                refused.incrementAndGet();
                                return;
                            }
                        } catch (IOException e) {
                            return; // listener closed
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                });
                await().atMost(Duration.ofSeconds(60)).until(() -> {
                    synchronized (created) {
                        return created.size() >= 20;
                    }
                });
                process.destroy(); // SIGTERM
                assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
                assertThat(process.exitValue()).isEqualTo(143);
                load.get(60, TimeUnit.SECONDS);

                // every acknowledged creation reached notification-service before the process exited
                List<String> ids;
                synchronized (created) {
                    ids = List.copyOf(created);
                }
                assertThat(ids).hasSizeGreaterThanOrEqualTo(20);
                assertThat(notifications.store().list(null, 10_000)).extracting(n -> n.userId())
                        .containsExactlyInAnyOrderElementsOf(ids);

                // JSON logs: one object per line, with request ids on request lines, and a clean stop
                List<JsonNode> lines = new ArrayList<>();
                for (String line : Files.readAllLines(stderr)) {
                    lines.add(MAPPER.readTree(line));
                }
                assertThat(lines).allSatisfy(l -> assertThat(l.has("time") && l.has("level") && l.has("logger") && l.has("message")).isTrue());
                assertThat(lines).anySatisfy(l -> {
                    assertThat(l.get("logger").asText()).isEqualTo("access");
                    assertThat(l.get("request_id").asText()).isNotEmpty();
                });
                assertThat(lines).anySatisfy(l -> assertThat(l.get("message").asText()).startsWith("user-service stopped in"));
            } finally {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** A user-service process and its REST port. */
    record Service(Process process, int port, int grpcPort, Path stderr) {}

    static Service startUserService(Path dir, String name, int notificationPort, String... extra) throws Exception {
        Path portsFile = dir.resolve(name + ".ports.json");
        Path stderr = dir.resolve(name + ".err");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1",
                // the service's own JSON logging instead of the quiet test config
                "-Dlogback.configurationFile=logback.xml",
                "-cp", System.getProperty("java.class.path"),
                UserServiceMain.class.getName(),
                "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0",
                "--notification-url", "http://127.0.0.1:" + notificationPort,
                "--retry-base", "20ms", "--retry-max", "200ms",
                "--ports-file", portsFile.toString()));
        command.addAll(List.of(extra));
        Process process = new ProcessBuilder(command)
                .redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectError(stderr.toFile())
                .start();
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(portsFile) || !process.isAlive());
        assertThat(process.isAlive()).as("%s alive; stderr: %s", name, read(stderr)).isTrue();
        JsonNode ports = MAPPER.readTree(Files.readString(portsFile));
        return new Service(process, ports.get("http").asInt(), ports.get("grpc").asInt(), stderr);
    }

    static void stop(Service s) throws InterruptedException {
        s.process().destroy(); // SIGTERM
        assertThat(s.process().waitFor(60, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
        assertThat(s.process().exitValue()).isEqualTo(143);
    }

    @Test
    void twoInstancesSharingOneDataDirServeEachOthersUsersAcrossARestart() throws Exception {
        Path data = dir.resolve("shared-users");
        try (NotificationServiceApp notifications = NotificationServiceApp.start(
                NotificationServiceConfig.defaults(dir.resolve("notifications")), Clock.systemUTC())) {
            Service a = startUserService(dir, "a", notifications.port(), "--data-dir", data.toString(), "--shared-db");
            Service b = startUserService(dir, "b", notifications.port(), "--data-dir", data.toString(), "--shared-db");
            Service a2 = null;
            try {
                TestHttp httpA = new TestHttp(a.port());
                TestHttp httpB = new TestHttp(b.port());
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    TestHttp via = i % 2 == 0 ? httpA : httpB;
                    TestHttp other = i % 2 == 0 ? httpB : httpA;
                    TestHttp.Reply r = via.post("/users", TestHttp.json(Map.of("name", "s" + i, "email", "s" + i + "@example.com")));
                    assertThat(r.status()).isEqualTo(201);
                    String id = r.body().get("id").asText();
                    ids.add(id);
                    assertThat(other.get("/users/" + id).status()).isEqualTo(200);
                }

                // writes and reads keep going on b while a, whose process serves the database to b, stops
                java.util.concurrent.atomic.AtomicBoolean stopLoad = new java.util.concurrent.atomic.AtomicBoolean();
                List<String> duringStop = new ArrayList<>();
                CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
                    for (int i = 6; !stopLoad.get() || i < 10; i++) {
                        try {
                            TestHttp.Reply r = httpB.post("/users", TestHttp.json(Map.of("name", "s" + i, "email", "s" + i + "@example.com")));
                            assertThat(r.status()).as(r.raw().body()).isEqualTo(201);
                            String id = r.body().get("id").asText();
                            assertThat(httpB.get("/users/" + id).status()).isEqualTo(200);
                            duringStop.add(id);
                        } catch (IOException | InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                });
                stop(a);
                stopLoad.set(true);
                load.get(60, TimeUnit.SECONDS);
                ids.addAll(duringStop);
                a2 = startUserService(dir, "a2", notifications.port(), "--data-dir", data.toString(), "--shared-db");
                TestHttp httpA2 = new TestHttp(a2.port());
                for (String id : ids) {
                    assertThat(httpA2.get("/users/" + id).status()).isEqualTo(200);
                }
                assertThat(httpA2.get("/users?limit=100").body().get("items")).hasSize(ids.size());

                await().atMost(Duration.ofSeconds(60)).until(() -> notifications.store().list(null, 1000).size() >= ids.size());
                assertThat(notifications.store().list(null, 1000)).extracting(n -> n.userId())
                        .containsExactlyInAnyOrderElementsOf(ids);
                stop(b);
                stop(a2);
            } finally {
                a.process().destroyForcibly();
                b.process().destroyForcibly();
                if (a2 != null) {
                    a2.process().destroyForcibly();
                }
            }
        }
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
