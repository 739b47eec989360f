package dev.trellis.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.bench.load.Protocol;
import dev.trellis.bench.run.BenchSettings;
import dev.trellis.common.cli.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code bench} command line: defaults, validation messages and a real (tiny) run. */
class BenchMainTest {

    private static String fails(String... args) {
        CommandLine cl = Cli.commandLine(new BenchMain());
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertThat(code).as("exit code of %s", List.of(args)).isEqualTo(Cli.USAGE);
        return err.toString();
    }

    private static BenchSettings settings(String... args) {
        CommandLine cl = Cli.commandLine(new BenchMain());
        CommandLine.ParseResult parsed = cl.parseArgs(args);
        BenchMain.Bench bench = (BenchMain.Bench) parsed.subcommand().commandSpec().userObject();
        return bench.settings(Path.of("/home/trellis"));
    }

    @Test
    void defaults() {
        BenchSettings s = settings("bench");
        assertThat(s.scenarios()).containsExactly("direct", "sidecar", "mesh", "haproxy", "haproxy-mtls", "nginx");
        assertThat(s.rates()).containsExactly(1000, 5000);
        assertThat(s.duration()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.maxDuration()).isEqualTo(s.duration());
        assertThat(s.warmup()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.connections()).isEqualTo(16);
        assertThat(s.protocol()).isEqualTo(Protocol.HTTP1);
        assertThat(s.payloadBytes()).isEqualTo(1024);
        assertThat(s.pin()).isTrue();
        assertThat(s.sidecar().jar()).isEqualTo(Path.of("/home/trellis/sidecar-proxy/target/trellis-sidecar.jar"));
        assertThat(s.out().toString()).startsWith("/home/trellis/benchmarks/results/");
        assertThat(s.command()).isEqualTo("./trellis bench");
        assertThat(s.rounds()).isEqualTo(1);
    }

    @Test
    void optionsAsGiven() {
        BenchSettings s = settings("bench", "haproxy", "direct", "haproxy", "--rate", "200,500", "--duration", "20s",
                "--connections", "4", "--protocol", "grpc", "--payload", "0", "--streams", "8", "--out", "/tmp/x",
                "--no-pin", "--max-duration", "0s", "--sidecar-jvm-opts", "-Xmx64m  -XX:+UseSerialGC");
        assertThat(s.scenarios()).containsExactly("haproxy", "direct");
        assertThat(s.rates()).containsExactly(200, 500);
        assertThat(s.duration()).isEqualTo(Duration.ofSeconds(20));
        assertThat(s.maxDuration()).isZero();
        assertThat(s.protocol()).isEqualTo(Protocol.GRPC);
        assertThat(s.payloadBytes()).isZero();
        assertThat(s.maxDepth()).isEqualTo(8);
        assertThat(s.out()).isEqualTo(Path.of("/tmp/x"));
        assertThat(s.pin()).isFalse();
        assertThat(s.sidecar().jvmOptions()).containsExactly("-Xmx64m", "-XX:+UseSerialGC");
        assertThat(s.command()).startsWith("./trellis bench haproxy direct haproxy --rate 200,500 --duration 20s")
                .endsWith("--sidecar-jvm-opts '-Xmx64m  -XX:+UseSerialGC'");
    }

    @Test
    void variantsRunOtherJarsOrOptionsInTheSameRun(@TempDir Path dir) throws Exception {
        Path jar = dir.resolve("sidecar.jar");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(jar))) {
            zip.putNextEntry(new java.util.zip.ZipEntry(dev.trellis.bench.scenario.SidecarJvmDefaults.ENTRY));
            zip.write("# defaults\n-XX:+UseSerialGC -Xmx64m\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        BenchSettings s = settings("bench", "sidecar", "sidecar@old", "mesh@g1", "--sidecar-jar", jar.toString(),
                "--variant-jar", "old=" + dir.resolve("old.jar"), "--variant-jvm-opts", "g1=-XX:+UseG1GC -Xmx256m");
        assertThat(s.scenarios()).containsExactly("sidecar", "sidecar@old", "mesh@g1");
        assertThat(s.sidecar().jvmOptions()).as("the jar's own defaults").containsExactly("-XX:+UseSerialGC", "-Xmx64m");
        assertThat(s.sidecar().variant("old").jar()).isEqualTo(dir.resolve("old.jar"));
        assertThat(s.sidecar().variant("old").jvmOptions()).as("a missing jar has no defaults").isEmpty();
        assertThat(s.sidecar().variant("g1").jar()).isEqualTo(jar);
        assertThat(s.sidecar().variant("g1").jvmOptions()).containsExactly("-XX:+UseG1GC", "-Xmx256m");
        assertThat(settings("bench", "sidecar", "--sidecar-jar", jar.toString(), "--sidecar-jvm-opts", "")
                .sidecar().jvmOptions()).as("\"\" means none").isEmpty();
        assertThat(fails("bench", "mesh@new")).contains("scenario: 'mesh@new' (expected: a variant defined with --variant-jar new=JAR");
        assertThat(fails("bench", "sidecar@a/b", "--variant-jar", "a/b=x.jar")).contains("name 'a/b'");
        assertThat(fails("bench", "haproxy@x", "--variant-jar", "x=x.jar")).contains("scenario: 'haproxy@x' (expected: one of");
    }

    @Test
    void aVariantRunsOnAnotherJava(@TempDir Path dir) throws Exception {
        Path java = Files.createFile(dir.resolve("java"));
        java.toFile().setExecutable(true);
        BenchSettings s = settings("bench", "mesh", "mesh@new", "--sidecar-jvm-opts", "-Xmx64m",
                "--variant-java", "new=" + java);
        assertThat(s.sidecar().variant("new").java()).isEqualTo(java);
        assertThat(s.sidecar().java()).as("the benchmark's own").isEqualTo(Path.of(System.getProperty("java.home"), "bin", "java"));
        assertThat(s.sidecar().variant("new").jar()).isEqualTo(s.sidecar().jar());
        assertThat(fails("bench", "mesh@new", "--variant-java", "new=" + dir.resolve("none")))
                .contains("--variant-java: new=" + dir.resolve("none") + " (expected: an executable java");
    }

    @Test
    void badValuesNameTheOptionAndTheValue() {
        assertThat(fails("bench", "--rate", "0")).contains("'--rate'", "'0' (expected: a whole number > 0)");
        assertThat(fails("bench", "--rate", "1000,fast")).contains("'--rate'", "'fast'");
        assertThat(fails("bench", "--duration", "soon")).contains("'--duration'", "'soon' (expected: a duration such as");
        assertThat(fails("bench", "--duration", "0s")).contains("--duration: 0s (expected: > 0)");
        assertThat(fails("bench", "--warmup", "-1s")).contains("--warmup: -1s (expected: >= 0)");
        assertThat(fails("bench", "--connections", "0")).contains("'--connections'", "'0'");
        assertThat(fails("bench", "--connections", "20000")).contains("--connections: 20000 (expected: 1..10000)");
        assertThat(fails("bench", "--protocol", "h3")).contains("'--protocol'", "'h3' (expected: one of http1, h2c, grpc)");
        assertThat(fails("bench", "--payload", "-1")).contains("--payload: -1 (expected: 0..16777216 bytes)");
        assertThat(fails("bench", "--streams", "2")).contains("--streams: 2 (expected: 1 with --protocol http1");
        assertThat(fails("bench", "--rounds", "0")).contains("'--rounds'", "'0' (expected: a whole number > 0)");
        assertThat(fails("bench", "--rounds", "21")).contains("--rounds: 21 (expected: 1..20)");
        assertThat(fails("bench", "envoy")).contains("scenario: 'envoy' (expected: one of direct, sidecar, mesh, haproxy, haproxy-mtls, nginx)");
    }

    @Test
    void cpScaleOptions() {
        CommandLine cl = Cli.commandLine(new BenchMain());
        CommandLine.ParseResult parsed = cl.parseArgs("bench", "cp-scale", "--services", "10", "--proxies", "20",
                "--cp-jvm-opts", "-Xmx512m -XX:+UseG1GC");
        BenchMain.CpScale c = (BenchMain.CpScale) parsed.subcommand().subcommand().commandSpec().userObject();
        var s = c.settings(Path.of("/home/trellis"));
        assertThat(s.services()).isEqualTo(10);
        assertThat(s.proxies()).isEqualTo(20);
        assertThat(s.upstreams()).isEqualTo(4);
        assertThat(s.rounds()).isEqualTo(3);
        assertThat(s.cpJvmOptions()).containsExactly("-Xmx512m", "-XX:+UseG1GC");
        assertThat(s.out().toString()).startsWith("/home/trellis/benchmarks/results/").endsWith("-cp-scale");
        assertThat(s.command()).isEqualTo("./trellis bench cp-scale --services 10 --proxies 20 --cp-jvm-opts '-Xmx512m -XX:+UseG1GC'");

        assertThat(fails("bench", "cp-scale", "--proxies", "0")).contains("'--proxies'", "'0' (expected: a whole number > 0)");
        assertThat(fails("bench", "cp-scale", "--services", "3", "--upstreams", "5"))
                .contains("--upstreams: 5 (expected: 1..3, at most --services)");
        assertThat(fails("bench", "cp-scale", "--quiet", "50ms")).contains("--quiet: 50ms (expected: >= 200ms");
    }

    @Test
    void jmhListsTheSidecarBenchmarks() throws Exception {
        java.io.PrintStream stdout = System.out;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        int code;
        try {
            code = Cli.commandLine(new BenchMain()).execute("bench", "jmh", "-l", "Benchmark");
        } finally {
            System.setOut(stdout);
        }
        assertThat(code).isZero();
        assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8)).contains(
                "RouteMatchBenchmark.defaultRoute", "LoadBalancerBenchmark.pick", "HeaderConversionBenchmark.http1ToHttp2",
                "CircuitBreakerBenchmark.requestAcquireRelease", "AccessLogBenchmark.line");
    }

    @Test
    void aTinyDirectRunWritesTheReport(@TempDir Path out) throws Exception {
        CommandLine cl = Cli.commandLine(new BenchMain());
        int code = cl.execute("bench", "direct", "--rate", "100", "--duration", "1s", "--warmup", "0s",
                "--max-duration", "500ms", "--connections", "2", "--no-pin", "--out", out.toString());

        assertThat(code).isZero();
        assertThat(Files.readString(out.resolve("report.md"))).contains("| direct | 100 | 100 |");
        assertThat(out.resolve("latency-100rps.svg")).exists();
        assertThat(out.resolve("direct-100rps.hgrm")).exists();
        assertThat(out.resolve("direct-max.hgrm")).exists();
        assertThat(out.resolve("direct-100rps-round1.hgrm")).as("one round: no per-round files").doesNotExist();
    }

    @Test
    void roundsRunEveryPhaseAgainAndReportEachRound(@TempDir Path out) throws Exception {
        CommandLine cl = Cli.commandLine(new BenchMain());
        int code = cl.execute("bench", "direct", "--rate", "100", "--duration", "500ms", "--warmup", "0s",
                "--max-duration", "300ms", "--connections", "2", "--no-pin", "--rounds", "2", "--out", out.toString());

        assertThat(code).isZero();
        String md = Files.readString(out.resolve("report.md"));
        assertThat(md).contains("Each phase ran in 2 rounds", "## Rounds", "| direct | p50 ms at 100 rps |",
                "| direct | rps at max |");
        // both rounds' requests are in the merged row: 2 x 500 ms at 100 rps
        assertThat(Files.readString(out.resolve("direct-100rps.hgrm"))).contains("Total count    =          100]");
        for (String f : List.of("direct-100rps-round1.hgrm", "direct-100rps-round2.hgrm", "direct-max-round1.hgrm",
                "direct-max-round2.hgrm")) {
            assertThat(out.resolve(f)).exists();
        }
    }
}
