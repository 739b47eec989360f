package dev.trellis.sidecar.run;

import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.testing.InheritedSignals;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code trellis run} as a real process (CLI parsing, real signals, exit codes, no process left). */
class RunProcessTest {
    @TempDir
    Path dir;

    Path events() {
        return dir.resolve("events.log");
    }

    List<String> lines() throws IOException {
        return Files.exists(events()) ? Files.readAllLines(events()) : List.of();
    }

    Process startRun(String... extra) throws IOException {
        int admin = SupervisorTest.freePort();
        List<String> cmd = new ArrayList<>(List.of(Supervisor.javaBinary(), "-cp", System.getProperty("java.class.path"),
                RunHarness.class.getName(), "--sidecar-fake", "--events", events().toString(), "--stop-ms", "200", ";",
                "run", "--service", "user-service", "--app-port", "8080", "--admin-port", String.valueOf(admin),
                "--control-plane", "127.0.0.1:15012", "--upstream", "notification-service=15101", "--label", "version=v1"));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("--", "sh", "-c", "echo \"app env $TRELLIS_UPSTREAM_NOTIFICATION_SERVICE_URL $$\" >> '" + events()
                + "'; trap 'echo app TERM >> \"" + events() + "\"; exit 5' TERM INT; while :; do sleep 0.05; done"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("run.log").toFile()).start();
    }

    @Test
    void sigtermStopsTheSidecarThenTheAppAndExitsWithTheAppsCode() throws Exception {
        Process run = startRun();
        await().atMost(Duration.ofSeconds(60)).until(() -> lines().stream().anyMatch(l -> l.startsWith("app env")));
        List<ProcessHandle> children = run.descendants().toList();
        assertThat(children).hasSizeGreaterThanOrEqualTo(2);
        run.destroy(); // SIGTERM
        assertThat(run.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(run.exitValue()).as(Files.readString(dir.resolve("run.log"))).isEqualTo(5);
        List<String> lines = lines();
        assertThat(lines.get(0)).startsWith("sidecar start").contains("--service user-service", "--app-port 8080",
                "--control-plane 127.0.0.1:15012", "--upstream notification-service=15101", "--label version=v1");
        assertThat(lines).containsSubsequence("sidecar ready", "sidecar TERM", "sidecar exit", "app TERM");
        assertThat(lines).anyMatch(l -> l.startsWith("app env http://127.0.0.1:15101 "));
        assertThat(children).noneMatch(ProcessHandle::isAlive);
    }

    @Test
    void sigintIsForwardedTheSameWay() throws Exception {
        assumeFalse(InheritedSignals.sigintIgnored(), "this JVM was started with SIGINT ignored, so its children cannot handle it");
        Process run = startRun();
        await().atMost(Duration.ofSeconds(60)).until(() -> lines().stream().anyMatch(l -> l.startsWith("app env")));
        List<ProcessHandle> children = run.descendants().toList();
        new ProcessBuilder("kill", "-INT", String.valueOf(run.pid())).start().waitFor();
        assertThat(run.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(run.exitValue()).isEqualTo(5);
        assertThat(lines()).containsSubsequence("sidecar TERM", "sidecar exit", "app TERM");
        assertThat(children).noneMatch(ProcessHandle::isAlive);
    }

    @Test
    void whenTheParentGoesAwayEverythingStops() throws Exception {
        Process parent = new ProcessBuilder("sleep", "600").start();
        try {
            Process run = startRun("--parent-pid", String.valueOf(parent.pid()));
            await().atMost(Duration.ofSeconds(60)).until(() -> lines().stream().anyMatch(l -> l.startsWith("app env")));
            List<ProcessHandle> children = run.descendants().toList();
            parent.destroyForcibly();
            assertThat(run.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(run.exitValue()).isEqualTo(5);
            assertThat(children).noneMatch(ProcessHandle::isAlive);
        } finally {
            parent.destroyForcibly();
        }
    }

    @Test
    void badOptionsAreUsageErrors() throws Exception {
        Process run = new ProcessBuilder(Supervisor.javaBinary(), "-cp", System.getProperty("java.class.path"),
                RunHarness.class.getName(), "run", "--service", "s", "--app-port", "1", "--upstream", "BAD", "--", "true")
                .redirectErrorStream(true).start();
        String out = new String(run.getInputStream().readAllBytes());
        assertThat(run.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(run.exitValue()).isEqualTo(2);
        assertThat(out).contains("--upstream 'BAD' (expected: NAME=PORT");
    }
}
