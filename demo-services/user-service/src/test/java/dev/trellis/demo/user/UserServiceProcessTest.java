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
            Path portsFile = dir.resolve("ports.json");
            Path stderr = dir.resolve("user-service.err");
            Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:TieredStopAtLevel=1",
                    // the service's own JSON logging instead of the quiet test config
                    "-Dlogback.configurationFile=logback.xml",
                    "-cp", System.getProperty("java.class.path"),
                    UserServiceMain.class.getName(),
                    "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0",
                    "--data-dir", dir.resolve("users").toString(),
                    "--notification-url", "http://127.0.0.1:" + notifications.port(),
                    "--retry-base", "20ms", "--retry-max", "200ms",
                    "--ports-file", portsFile.toString())
                    .redirectErrorStream(false)
                    .redirectOutput(dir.resolve("user-service.out").toFile())
                    .redirectError(stderr.toFile())
                    .start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(portsFile) || !process.isAlive());
                assertThat(process.isAlive()).as("process alive; stderr: %s", read(stderr)).isTrue();
                int port = MAPPER.readTree(Files.readString(portsFile)).get("http").asInt();
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

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
