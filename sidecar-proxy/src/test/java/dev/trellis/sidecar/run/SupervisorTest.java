package dev.trellis.sidecar.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The supervisor with real child processes: a stand-in sidecar JVM and a shell script as the app. */
class SupervisorTest {
    @TempDir
    Path dir;

    Path events() {
        return dir.resolve("events.log");
    }

    List<String> lines() throws IOException {
        return Files.exists(events()) ? Files.readAllLines(events()) : List.of();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** An app that records its upstream URL, and on SIGTERM records it and exits 7. */
    List<String> app() {
        return List.of("sh", "-c", "echo \"app env $TRELLIS_UPSTREAM_NOTIFICATION_SERVICE_URL\" >> '" + events()
                + "'; trap 'echo app TERM >> \"" + events() + "\"; exit 7' TERM; while :; do sleep 0.05; done");
    }

    Supervisor supervisor(List<String> appCommand, Duration removal, String... fakeArgs) throws IOException {
        int admin = freePort();
        RunSpec spec = new RunSpec("user-service", admin, Map.of("notification-service", 15101),
                List.of("--service", "user-service", "--admin-port", String.valueOf(admin)), appCommand,
                Duration.ofSeconds(30), removal, Duration.ofSeconds(10), Optional.empty());
        List<String> cmd = new ArrayList<>(List.of(Supervisor.javaBinary(), "-cp", System.getProperty("java.class.path"),
                FakeSidecar.class.getName(), "--events", events().toString()));
        cmd.addAll(spec.sidecarArgs());
        cmd.addAll(List.of(fakeArgs));
        return new Supervisor(spec, cmd);
    }

    static CompletableFuture<Integer> runAsync(Supervisor s) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return s.run();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void appStartsAfterTheSidecarIsReadyWithItsUpstreamUrlsAndStopStopsTheSidecarFirst() throws Exception {
        Supervisor s = supervisor(app(), Duration.ofSeconds(10), "--ready-after-ms", "300", "--stop-ms", "300");
        CompletableFuture<Integer> result = runAsync(s);
        await().atMost(Duration.ofSeconds(30)).until(() -> lines().stream().anyMatch(l -> l.startsWith("app env")));
        s.stop("SIGTERM");
        assertThat(result.get(30, TimeUnit.SECONDS)).as("the app's exit code").isEqualTo(7);
        List<String> lines = lines();
        assertThat(lines).contains("app env http://127.0.0.1:15101");
        assertThat(lines.stream().filter(l -> !l.startsWith("sidecar start")).toList())
                .containsExactly("sidecar ready", "app env http://127.0.0.1:15101", "sidecar TERM", "sidecar exit", "app TERM");
    }

    @Test
    void anAppThatExitsOnItsOwnStopsTheSidecarAndGivesItsExitCode() throws Exception {
        Supervisor s = supervisor(List.of("sh", "-c", "exit 3"), Duration.ofSeconds(10));
        assertThat(runAsync(s).get(30, TimeUnit.SECONDS)).isEqualTo(3);
        assertThat(lines()).contains("sidecar TERM", "sidecar exit");
    }

    @Test
    void aSidecarThatExitsBeforeItIsReadyFailsTheRunAndTheAppNeverStarts() throws Exception {
        Supervisor s = supervisor(app(), Duration.ofSeconds(10), "--exit-at-start", "4");
        assertThat(runAsync(s).get(30, TimeUnit.SECONDS)).isEqualTo(Supervisor.SIDECAR_FAILED);
        assertThat(lines()).noneMatch(l -> l.startsWith("app"));
    }

    @Test
    void aSidecarThatNeverGetsReadyFailsAfterTheBound() throws Exception {
        int admin = freePort();
        RunSpec spec = new RunSpec("user-service", admin, Map.of(), List.of(), app(), Duration.ofSeconds(5),
                Duration.ofSeconds(10), Duration.ofSeconds(10), Optional.empty());
        List<String> cmd = List.of(Supervisor.javaBinary(), "-cp", System.getProperty("java.class.path"),
                FakeSidecar.class.getName(), "--events", events().toString(), "--admin-port", String.valueOf(admin),
                "--ready-after-ms", "600000");
        assertThat(runAsync(new Supervisor(spec, cmd)).get(30, TimeUnit.SECONDS)).isEqualTo(Supervisor.SIDECAR_FAILED);
        assertThat(lines()).noneMatch(l -> l.startsWith("app"));
        assertThat(ProcessHandle.of(fakePid()).filter(ProcessHandle::isAlive)).as("the sidecar is stopped").isEmpty();
    }

    long fakePid() throws IOException {
        String start = lines().stream().filter(l -> l.startsWith("sidecar start pid=")).findFirst().orElseThrow();
        return Long.parseLong(start.substring("sidecar start pid=".length()).split(" ")[0]);
    }

    @Test
    void aSidecarThatDiesWhileTheAppRunsStopsTheApp() throws Exception {
        Supervisor s = supervisor(app(), Duration.ofSeconds(10), "--crash-after-ms", "9:1500");
        assertThat(runAsync(s).get(30, TimeUnit.SECONDS)).isEqualTo(Supervisor.SIDECAR_FAILED);
        assertThat(lines()).containsSubsequence("app env http://127.0.0.1:15101", "sidecar crash", "app TERM");
    }

    @Test
    void aSidecarThatIgnoresSigtermIsKilledAfterTheRemovalBoundAndTheAppStillStops() throws Exception {
        Supervisor s = supervisor(app(), Duration.ofMillis(500), "--ignore-term");
        CompletableFuture<Integer> result = runAsync(s);
        await().atMost(Duration.ofSeconds(30)).until(() -> lines().stream().anyMatch(l -> l.startsWith("app env")));
        s.stop("SIGTERM");
        assertThat(result.get(30, TimeUnit.SECONDS)).isEqualTo(7);
        assertThat(lines()).containsSubsequence("sidecar TERM", "app TERM").doesNotContain("sidecar exit");
    }

    @Test
    void anAppThatCannotStartGives127AndStopsTheSidecar() throws Exception {
        Supervisor s = supervisor(List.of(dir.resolve("no-such-program").toString()), Duration.ofSeconds(10));
        assertThat(runAsync(s).get(30, TimeUnit.SECONDS)).isEqualTo(Supervisor.APP_NOT_STARTED);
        assertThat(lines()).contains("sidecar TERM");
    }

    @Test
    void upstreamNamesBecomeEnvironmentVariables() {
        assertThat(RunSpec.envName("notification-service")).isEqualTo("TRELLIS_UPSTREAM_NOTIFICATION_SERVICE_URL");
        assertThat(RunSpec.envName("billing.v2")).isEqualTo("TRELLIS_UPSTREAM_BILLING_V2_URL");
        assertThat(RunSpec.parseUpstream("notification-service=15101")).isEqualTo(Map.entry("notification-service", 15101));
        assertThatThrownBy(() -> RunSpec.parseUpstream("Users=1")).hasMessageContaining("'Users' is not a service name");
        assertThatThrownBy(() -> RunSpec.parseUpstream("users=70000")).hasMessageContaining("port 70000 (expected: 1..65535)");
        assertThatThrownBy(() -> RunSpec.parseUpstream("users")).hasMessageContaining("(expected: NAME=PORT");
    }

    @Test
    void adminAddressIsPassedToTheSidecarAndReadinessPolledThere() {
        RunCommand run = new RunCommand();
        dev.trellis.common.cli.Cli.commandLine(run).parseArgs("--service", "users", "--app-port", "8080", "--admin-address", "0.0.0.0", "--", "app");
        RunSpec spec = run.toSpec();
        assertThat(String.join(" ", spec.sidecarArgs())).contains("--admin-address 0.0.0.0");
        assertThat(spec.adminUrl("/ready")).isEqualTo("http://127.0.0.1:15000/ready");
        RunSpec pod = new RunSpec("users", 15000, Map.of(), List.of(), List.of("app"), Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(1), Optional.empty(), Optional.of("10.0.0.7"));
        assertThat(pod.adminUrl("/ready")).isEqualTo("http://10.0.0.7:15000/ready");
        assertThat(new RunSpec("users", 15000, Map.of(), List.of(), List.of("app"), Duration.ofSeconds(1), Duration.ofSeconds(1),
                Duration.ofSeconds(1), Optional.empty()).adminUrl("/ready")).isEqualTo("http://127.0.0.1:15000/ready");
        RunCommand bad = new RunCommand();
        dev.trellis.common.cli.Cli.commandLine(bad).parseArgs("--service", "users", "--app-port", "8080", "--admin-address", "pod", "--", "app");
        assertThatThrownBy(bad::toSpec).hasMessageContaining("--admin-address: 'pod' (expected: an IP address");
    }
}
