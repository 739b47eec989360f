package dev.trellis.demo.notification;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** notification-service as a real process, configured through env vars, stopped with SIGTERM. */
class NotificationServiceProcessTest {
    @TempDir
    Path dir;

    @Test
    void startsFromEnvServesAndStopsCleanlyOnSigterm() throws Exception {
        Path portsFile = dir.resolve("ports.json");
        Path stderr = dir.resolve("err.log");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                NotificationServiceMain.class.getName(), "--ports-file", portsFile.toString())
                .redirectOutput(dir.resolve("out.log").toFile())
                .redirectError(stderr.toFile());
        pb.environment().putAll(Map.of("PORT", "0", "HOST", "127.0.0.1", "DATA_DIR", dir.resolve("data").toString()));
        Process process = pb.start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(portsFile) || !process.isAlive());
            assertThat(process.isAlive()).as("alive; stderr: %s", Files.exists(stderr) ? Files.readString(stderr) : "").isTrue();
            int port = new ObjectMapper().readTree(Files.readString(portsFile)).get("http").asInt();
            TestHttp http = new TestHttp(port);
            assertThat(http.get("/ready").status()).isEqualTo(200);
            assertThat(http.post("/events", NotificationServiceTest.created("e-1", "u-1", "Ada")).status()).isEqualTo(202);

            process.destroy();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).isEqualTo(143);
            // the database was closed cleanly and is kept
            assertThat(Files.exists(dir.resolve("data").resolve("notifications.mv.db"))).isTrue();
        } finally {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }
}
