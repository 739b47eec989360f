package dev.trellis.bench.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.trellis.bench.backend.EchoServer;
import dev.trellis.bench.load.LoadGenerator;
import dev.trellis.bench.load.LoadResult;
import dev.trellis.bench.load.Progress;
import dev.trellis.bench.load.Protocol;
import dev.trellis.bench.load.Transports;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Skipping, failing and running scenarios for real: missing programs are skipped naming the
 * package, so is a sidecar whose jar is missing; a sidecar that exits fails with its output; HAProxy
 * and nginx (when installed) carry real load and are gone, workers included, once stopped.
 */
class ScenariosTest {
    private static EventLoopGroup group;
    private static EchoServer backend;

    @TempDir
    Path dir;
    private final ProcessSupervisor processes = new ProcessSupervisor();

    @BeforeAll
    static void startBackend() throws Exception {
        group = Transports.group(2, "scenario-test");
        backend = EchoServer.start(group, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterAll
    static void stopBackend() {
        backend.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @AfterEach
    void stopProcesses() {
        processes.close();
    }

    private ScenarioContext context(Protocol protocol, Binaries binaries, ScenarioContext.SidecarSettings sidecar) {
        CpuPlacement unpinned = CpuPlacement.decide(false, List.of(0), Optional.empty());
        return new ScenarioContext(protocol, backend.address(), dir.resolve("work"), dir.resolve("pki"), unpinned,
                processes, binaries, sidecar, Duration.ofSeconds(30));
    }

    private ScenarioContext context(Protocol protocol) {
        return context(protocol, Binaries.system(), sidecar(dir.resolve("missing.jar"), Path.of("java")));
    }

    private static ScenarioContext.SidecarSettings sidecar(Path jar, Path java) {
        return new ScenarioContext.SidecarSettings(jar, java, List.of());
    }

    private Path script(String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    @Test
    void missingProgramsAreSkippedNamingTheDebianPackage() {
        ScenarioContext ctx = context(Protocol.HTTP1, name -> Optional.empty(), sidecar(dir.resolve("none.jar"), Path.of("java")));
        assertThatThrownBy(() -> Scenarios.byName("haproxy").orElseThrow().deploy(ctx))
                .isInstanceOf(ScenarioSkipped.class)
                .hasMessage("'haproxy' not found on PATH or in /usr/sbin (install the Debian package 'haproxy': apt-get install haproxy)");
        assertThatThrownBy(() -> Scenarios.byName("haproxy-mtls").orElseThrow().deploy(ctx))
                .isInstanceOf(ScenarioSkipped.class).hasMessageContaining("apt-get install haproxy");
        assertThatThrownBy(() -> Scenarios.byName("nginx").orElseThrow().deploy(ctx))
                .isInstanceOf(ScenarioSkipped.class).hasMessageContaining("Debian package 'nginx'");
    }

    @Test
    void aMissingSidecarJarSkipsSidecarAndMesh() {
        ScenarioContext ctx = context(Protocol.HTTP1);
        for (String name : List.of("sidecar", "mesh")) {
            assertThatThrownBy(() -> Scenarios.byName(name).orElseThrow().deploy(ctx))
                    .isInstanceOf(ScenarioSkipped.class)
                    .hasMessageContaining("missing.jar is missing (build it: mvn -B -pl sidecar-proxy -am package -DskipTests)");
        }
    }

    @Test
    void aSidecarThatCrashesFailsWithItsOutput() throws Exception {
        Path jar = Files.writeString(dir.resolve("trellis-sidecar.jar"), "");
        Path java = script("java", "echo \"config: bad field\" >&2; exit 1");
        ScenarioContext ctx = context(Protocol.HTTP1, Binaries.system(), sidecar(jar, java));

        assertThatThrownBy(() -> Scenarios.byName("sidecar").orElseThrow().deploy(ctx))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sidecar did not start (exit 1)")
                .hasMessageContaining("config: bad field");
    }

    @Test
    void theSidecarIsStartedWithItsJvmOptionsAndTheBootstrap() throws Exception {
        Path jar = Files.writeString(dir.resolve("trellis-sidecar.jar"), "");
        Path args = dir.resolve("args.txt");
        Path java = script("java", "echo \"$@\" > " + args + "; exit 2");
        ScenarioContext ctx = context(Protocol.HTTP1, Binaries.system(),
                new ScenarioContext.SidecarSettings(jar, java, List.of("-Xmx64m", "-XX:+UseSerialGC")));

        // any exit, 2 included, fails the scenario
        assertThatThrownBy(() -> Scenarios.byName("sidecar").orElseThrow().deploy(ctx))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("sidecar did not start (exit 2)");
        // its GC and safepoint log goes next to its output, with wall-clock times
        assertThat(Files.readString(args).trim()).isEqualTo("-Xmx64m -XX:+UseSerialGC -Xlog:gc,safepoint:file=\""
                + dir.resolve("work/sidecar-jvm.log") + "\":utctime,uptime -jar " + jar + " sidecar --config "
                + dir.resolve("work/sidecar.yaml"));
        // the sidecar was given the generated bootstrap
        assertThat(Files.readString(dir.resolve("work/sidecar.yaml"))).contains("HttpConnectionManager");
    }

    @Test
    void directNeedsNothing() throws Exception {
        Deployment d = Scenarios.byName("direct").orElseThrow().deploy(context(Protocol.HTTP1));
        assertThat(d.target()).isEqualTo(backend.address());
        assertThat(d.proxies()).isEmpty();
    }

    @Test
    void haproxyCarriesHttp1() throws Exception {
        assumeTrue(Binaries.system().find("haproxy").isPresent(), "haproxy is not installed");
        runAndStop("haproxy", Protocol.HTTP1, 1);
    }

    @Test
    void haproxyMtlsPairCarriesGrpc() throws Exception {
        assumeTrue(Binaries.system().find("haproxy").isPresent(), "haproxy is not installed");
        runAndStop("haproxy-mtls", Protocol.GRPC, 2);
        assertThat(dir.resolve("pki/ca.pem")).exists();
    }

    @Test
    void nginxCarriesH2cAndItsWorkersStopWithIt() throws Exception {
        assumeTrue(Binaries.system().find("nginx").isPresent(), "nginx is not installed");
        runAndStop("nginx", Protocol.H2C, 1);
    }

    private void runAndStop(String scenario, Protocol protocol, int expectedProxies) throws Exception {
        Deployment d = Scenarios.byName(scenario).orElseThrow().deploy(context(protocol));
        assertThat(d.proxies()).hasSize(expectedProxies);
        List<ProcessHandle> all = new ArrayList<>();
        for (Deployment.Proxy p : d.proxies()) {
            all.add(p.process().toHandle());
            all.addAll(p.process().toHandle().descendants().toList());
        }
        double cpuBefore = d.proxyCpuSeconds();
        try (LoadGenerator gen = new LoadGenerator(group, protocol, d.target(), 2, 512)) {
            LoadResult r = gen.openLoop(200, Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(5),
                    Progress.none(), () -> {}, () -> {});
            assertThat(r.errorKinds()).isEmpty();
            assertThat(r.ok()).isBetween(199L, 201L);
        }
        assertThat(d.deadProxy()).isNull();
        assertThat(d.proxyCpuSeconds()).isGreaterThanOrEqualTo(cpuBefore);
        assertThat(d.proxies().get(0).peakRssBytes().orElseThrow()).isGreaterThan(1 << 20);

        processes.stopAll();
        for (ProcessHandle h : all) {
            h.onExit().get(10, TimeUnit.SECONDS);
            assertThat(h.isAlive()).as("process %d of %s", h.pid(), scenario).isFalse();
        }
    }
}
