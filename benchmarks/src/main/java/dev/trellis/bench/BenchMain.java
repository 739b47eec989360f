package dev.trellis.bench;

import dev.trellis.bench.load.Protocol;
import dev.trellis.bench.report.ScenarioResult;
import dev.trellis.bench.run.BenchRunner;
import dev.trellis.bench.run.BenchSettings;
import dev.trellis.bench.scenario.Binaries;
import dev.trellis.bench.scenario.ScenarioContext;
import dev.trellis.bench.scenario.SidecarJvmDefaults;
import dev.trellis.bench.scenario.Scenarios;
import dev.trellis.common.Durations;
import dev.trellis.common.cli.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Entry point of the benchmarks jar. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis benchmarks.",
        subcommands = BenchMain.Bench.class)
public final class BenchMain {
    public static void main(String[] args) {
        Cli.main(new BenchMain(), args);
    }

    /** {@code trellis bench}: measures the scenarios and writes the report. */
    @Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
            subcommands = {CpScale.class, BenchMain.Jmh.class},
            description = {
                "Measure latency, throughput, CPU and memory of the Trellis sidecar against direct calls, HAProxy and nginx.",
                "",
                "Scenarios (all by default, run in this order): direct, sidecar, mesh, haproxy, haproxy-mtls, nginx;",
                "sidecar@NAME and mesh@NAME run sidecar variant NAME (--variant-jar, --variant-jvm-opts, --variant-java) in the same run.",
                "A scenario whose program is missing (haproxy, nginx, the sidecar jar) is skipped with a message.",
                "Writes report.md, latency-<rate>rps.svg and raw .hgrm files to --out.",
                "",
                "`bench cp-scale` measures the control plane instead (see `bench cp-scale --help`);",
                "`bench jmh [JMH OPTIONS] [REGEX]` runs the JMH microbenchmarks."})
    static final class Bench implements Callable<Integer> {
        private static final int MAX_PAYLOAD = 16 << 20;
        private static final int MAX_ROUNDS = 20;

        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "SCENARIO", arity = "0..*",
                description = "Scenarios to measure: direct, sidecar, mesh, haproxy, haproxy-mtls, nginx (default: all).")
        List<String> scenarios = new ArrayList<>();

        @Option(names = "--rate", split = ",", paramLabel = "R", converter = PositiveInt.class,
                description = "Fixed request rates in requests per second (default: 1000,5000).")
        List<Integer> rates = new ArrayList<>();

        @Option(names = "--duration", paramLabel = "D", defaultValue = "30s",
                description = "Measured time per rate (default: ${DEFAULT-VALUE}).")
        Duration duration;

        @Option(names = "--warmup", paramLabel = "D", defaultValue = "5s",
                description = "Unmeasured warm-up before each phase (default: ${DEFAULT-VALUE}).")
        Duration warmup;

        @Option(names = "--max-duration", paramLabel = "D",
                description = "Measured time of the closed-loop max-throughput phase; 0s skips it (default: --duration).")
        Duration maxDuration;

        @Option(names = "--connections", paramLabel = "C", defaultValue = "16", converter = PositiveInt.class,
                description = "Client connections (default: ${DEFAULT-VALUE}).")
        int connections;

        @Option(names = "--protocol", paramLabel = "http1|h2c|grpc", defaultValue = "http1", converter = ProtocolConverter.class,
                description = "http1 (keep-alive), h2c (HTTP/2 prior knowledge) or grpc (unary) (default: ${DEFAULT-VALUE}).")
        Protocol protocol;

        @Option(names = "--payload", paramLabel = "BYTES", defaultValue = "1024",
                description = "Request and response body size (default: ${DEFAULT-VALUE}).")
        int payload;

        @Option(names = "--streams", paramLabel = "N", defaultValue = "1", converter = PositiveInt.class,
                description = "Requests in flight per connection in the max-throughput phase; h2c and grpc only (default: ${DEFAULT-VALUE}).")
        int streams;

        @Option(names = "--rounds", paramLabel = "N", defaultValue = "1", converter = PositiveInt.class,
                description = "Run every phase N times, round by round over all scenarios, and report each round"
                        + " and the median of the goal ratios (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--out", paramLabel = "DIR",
                description = "Output folder (default: benchmarks/results/<timestamp>/).")
        Path out;

        @Option(names = "--no-pin", description = "Do not pin the proxies and the load generator to separate CPUs.")
        boolean noPin;

        @Option(names = "--sidecar-jar", paramLabel = "JAR",
                description = "Trellis sidecar jar (default: sidecar-proxy/target/trellis-sidecar.jar).")
        Path sidecarJar;

        @Option(names = "--sidecar-jvm-opts", paramLabel = "OPTS",
                description = "JVM options for the sidecar processes, space-separated, e.g. \"-Xmx64m -XX:+UseSerialGC\""
                        + " (default: the jar's own defaults, " + SidecarJvmDefaults.ENTRY + "; \"\" for none).")
        String sidecarJvmOpts;

        @Option(names = "--access-log",
                description = "Trellis sidecars (and variants) write their JSON access log to a file, as with"
                        + " access logging on; HAProxy and nginx do not log.")
        boolean accessLog;

        @Option(names = "--variant-jar", paramLabel = "NAME=JAR",
                description = "A sidecar variant for scenarios sidecar@NAME and mesh@NAME, measured in the same run:"
                        + " another build of the sidecar jar (repeatable).")
        Map<String, Path> variantJars = new LinkedHashMap<>();

        @Option(names = "--variant-jvm-opts", paramLabel = "NAME=OPTS",
                description = "JVM options of variant NAME (default: its jar's defaults; repeatable).")
        Map<String, String> variantJvmOpts = new LinkedHashMap<>();

        @Option(names = "--variant-java", paramLabel = "NAME=JAVA",
                description = "The java executable that runs variant NAME's sidecars, e.g. another JDK's bin/java"
                        + " (default: the benchmark's own; repeatable).")
        Map<String, Path> variantJavas = new LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            BenchSettings s = settings(home());
            boolean terminal = System.console() != null;
            List<ScenarioResult> results = new BenchRunner(s, System.out, System.err,
                    terminal, Binaries.system()).run();
            System.out.flush();
            return results.stream().anyMatch(r -> r.status() == ScenarioResult.Status.FAILED) ? 1 : 0;
        }

        /** Checks the options together and builds the settings; errors name the option and value. */
        BenchSettings settings(Path home) {
            List<String> chosen = new ArrayList<>(new LinkedHashSet<>(scenarios));
            for (String name : chosen) {
                if (Scenarios.byName(name).isEmpty()) {
                    throw usage("scenario: '" + name + "' (expected: one of " + Scenarios.names() + ")");
                }
            }
            if (chosen.isEmpty()) {
                Scenarios.all().forEach(sc -> chosen.add(sc.name()));
            }
            List<Integer> r = rates.isEmpty() ? List.of(1000, 5000) : List.copyOf(new LinkedHashSet<>(rates));
            if (duration.isNegative() || duration.isZero()) {
                throw usage("--duration: " + Durations.format(duration) + " (expected: > 0)");
            }
            if (warmup.isNegative()) {
                throw usage("--warmup: " + Durations.format(warmup) + " (expected: >= 0)");
            }
            Duration max = maxDuration == null ? duration : maxDuration;
            if (max.isNegative()) {
                throw usage("--max-duration: " + Durations.format(max) + " (expected: >= 0)");
            }
            if (connections > 10_000) {
                throw usage("--connections: " + connections + " (expected: 1..10000)");
            }
            if (payload < 0 || payload > MAX_PAYLOAD) {
                throw usage("--payload: " + payload + " (expected: 0.." + MAX_PAYLOAD + " bytes)");
            }
            if (rounds > MAX_ROUNDS) {
                throw usage("--rounds: " + rounds + " (expected: 1.." + MAX_ROUNDS + ")");
            }
            if (streams > 100) {
                throw usage("--streams: " + streams + " (expected: 1..100)");
            }
            if (streams > 1 && !protocol.multiplexed()) {
                throw usage("--streams: " + streams + " (expected: 1 with --protocol http1, which carries one request at a time)");
            }
            Path jar = (sidecarJar != null ? sidecarJar : home.resolve("sidecar-proxy/target/trellis-sidecar.jar")).toAbsolutePath();
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Map<String, ScenarioContext.SidecarSettings> variants = new LinkedHashMap<>();
            Set<String> variantNames = new LinkedHashSet<>(variantJars.keySet());
            variantNames.addAll(variantJvmOpts.keySet());
            variantNames.addAll(variantJavas.keySet());
            for (String v : variantNames) {
                if (!v.matches("[A-Za-z0-9_.-]+")) {
                    throw usage("--variant-jar/--variant-jvm-opts/--variant-java: name '" + v
                            + "' (expected: letters, digits, '.', '_' or '-')");
                }
                Path vJar = variantJars.containsKey(v) ? variantJars.get(v).toAbsolutePath() : jar;
                List<String> vJvm = variantJvmOpts.containsKey(v) ? options(variantJvmOpts.get(v)) : SidecarJvmDefaults.read(vJar);
                Path vJava = java;
                if (variantJavas.containsKey(v)) {
                    vJava = variantJavas.get(v).toAbsolutePath();
                    if (!Files.isRegularFile(vJava) || !Files.isExecutable(vJava)) {
                        throw usage("--variant-java: " + v + "=" + variantJavas.get(v)
                                + " (expected: an executable java, such as /usr/lib/jvm/<jdk>/bin/java)");
                    }
                }
                variants.put(v, new ScenarioContext.SidecarSettings(vJar, vJava, vJvm));
            }
            for (String name : chosen) {
                String v = Scenarios.variantOf(name);
                if (v != null && !variants.containsKey(v)) {
                    throw usage("scenario: '" + name + "' (expected: a variant defined with --variant-jar " + v
                            + "=JAR, --variant-jvm-opts " + v + "=OPTS or --variant-java " + v + "=JAVA)");
                }
            }
            List<String> jvm = sidecarJvmOpts != null ? options(sidecarJvmOpts) : SidecarJvmDefaults.read(jar);
            Path outDir = out != null ? out : home.resolve("benchmarks/results")
                    .resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)));
            Duration drain = Duration.ofSeconds(10);
            return new BenchSettings(chosen, r, warmup, duration, max, drain, connections, protocol, payload, streams,
                    rounds, outDir.toAbsolutePath(), !noPin, new ScenarioContext.SidecarSettings(jar, java, jvm, variants, accessLog),
                    commandLine());
        }

        private static List<String> options(String text) {
            return text.isBlank() ? List.of() : List.of(text.trim().split("\\s+"));
        }

        private String commandLine() {
            List<String> args = spec.commandLine().getParseResult() == null ? List.of()
                    : spec.commandLine().getParseResult().originalArgs();
            // the jar's arguments start with the command name, as the launcher passes it
            if (!args.isEmpty() && args.get(0).equals(spec.name())) {
                args = args.subList(1, args.size());
            }
            return "./trellis bench" + (args.isEmpty() ? "" : " " + args.stream().map(Bench::quote).collect(Collectors.joining(" ")));
        }

        static String quote(String a) {
            return a.matches("[A-Za-z0-9_./,:=@%+-]+") ? a : "'" + a.replace("'", "'\\''") + "'";
        }

        private CommandLine.ParameterException usage(String message) {
            return new CommandLine.ParameterException(spec.commandLine(), message);
        }

        static Path home() {
            String h = System.getProperty("trellis.home");
            return Path.of(h != null ? h : "").toAbsolutePath();
        }
    }

    /** {@code trellis bench cp-scale}: the control plane with many simulated proxies. */
    @Command(name = "cp-scale", mixinStandardHelpOptions = true, sortOptions = false,
            description = {
                "Measure the control plane at scale: a real control plane in a child JVM, --services services and",
                "--proxies simulated sidecars (registration + ADS over TLS gRPC, ACKing as Envoy does).",
                "Reports registration and first-full-sync times, the time from a policy change (a Service timeout",
                "through the admin API) to each affected proxy's ACK (p50/p99/max) for a service every proxy calls",
                "and for one only a few call, which proxies got pushes, and the control plane's heap and CPU.",
                "Writes report.md and control-plane.log to --out."})
    static final class CpScale implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--services", paramLabel = "N", defaultValue = "1000", converter = PositiveInt.class,
                description = "Services in the mesh (default: ${DEFAULT-VALUE}).")
        int services;

        @Option(names = "--proxies", paramLabel = "N", defaultValue = "2000", converter = PositiveInt.class,
                description = "Simulated sidecars, each on its own connection (default: ${DEFAULT-VALUE}).")
        int proxies;

        @Option(names = "--upstreams", paramLabel = "N", defaultValue = "4", converter = PositiveInt.class,
                description = "Upstream services each proxy declares, the one every proxy calls included (default: ${DEFAULT-VALUE}).")
        int upstreams;

        @Option(names = "--rounds", paramLabel = "N", defaultValue = "3", converter = PositiveInt.class,
                description = "Times each policy change is made; the first runs cold code paths (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--timeout", paramLabel = "D", defaultValue = "10m",
                description = "Bound on registration, the first sync and each change (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        @Option(names = "--quiet", paramLabel = "D", defaultValue = "1s",
                description = "The fleet is settled after this long without a response (default: ${DEFAULT-VALUE}).")
        Duration quiet;

        @Option(names = "--out", paramLabel = "DIR",
                description = "Output folder (default: benchmarks/results/<timestamp>-cp-scale/).")
        Path out;

        @Option(names = "--cp-jvm-opts", paramLabel = "OPTS", defaultValue = "",
                description = "JVM options for the control plane, space-separated, e.g. \"-Xmx512m\".")
        String cpJvmOpts;

        @Override
        public Integer call() throws Exception {
            new dev.trellis.bench.cp.CpScaleRunner(settings(Bench.home()), System.out, System.err).run();
            System.out.flush();
            return 0;
        }

        dev.trellis.bench.cp.CpScaleSettings settings(Path home) {
            if (services > 100_000) throw usage("--services: " + services + " (expected: 1..100000)");
            if (proxies > 10_000) throw usage("--proxies: " + proxies + " (expected: 1..10000, one connection each)");
            if (upstreams > services) {
                throw usage("--upstreams: " + upstreams + " (expected: 1.." + services + ", at most --services)");
            }
            if (timeout.isNegative() || timeout.isZero()) throw usage("--timeout: " + Durations.format(timeout) + " (expected: > 0)");
            if (quiet.compareTo(Duration.ofMillis(200)) < 0) {
                throw usage("--quiet: " + Durations.format(quiet) + " (expected: >= 200ms, longer than the debounce)");
            }
            Path outDir = out != null ? out : home.resolve("benchmarks/results").resolve(LocalDateTime.now()
                    .format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)) + "-cp-scale");
            List<String> jvm = cpJvmOpts.isBlank() ? List.of() : List.of(cpJvmOpts.trim().split("\\s+"));
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            List<String> args = spec.commandLine().getParseResult() == null ? List.of()
                    : spec.commandLine().getParseResult().originalArgs();
            int at = args.indexOf(spec.name());
            List<String> own = at < 0 ? args : args.subList(at + 1, args.size());
            String command = "./trellis bench cp-scale" + (own.isEmpty() ? ""
                    : " " + own.stream().map(Bench::quote).collect(Collectors.joining(" ")));
            return new dev.trellis.bench.cp.CpScaleSettings(services, proxies, upstreams, 42, 64, timeout, timeout, quiet,
                    outDir.toAbsolutePath(), java, jvm, rounds, command);
        }

        private CommandLine.ParameterException usage(String message) {
            return new CommandLine.ParameterException(spec.commandLine(), message);
        }
    }

    /** {@code trellis bench jmh ...}: JMH's own command line over the benchmarks in this jar. */
    @Command(name = "jmh", description = {
            "Run the JMH microbenchmarks (sidecar hot paths, load generator); every argument goes to JMH,",
            "e.g. `bench jmh -f 1 -wi 2 -i 3 -w 1s -r 1s LoadBalancer`, `bench jmh -l` to list, `bench jmh -h` for JMH's help."})
    static final class Jmh implements Callable<Integer> {
        // JMH's options are not ours: everything passes through in order
        @CommandLine.Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            org.openjdk.jmh.Main.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** An integer of at least 1; the message names the value. */
    static final class PositiveInt implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int v;
            try {
                v = Integer.parseInt(value.trim());
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' (expected: a whole number > 0)");
            }
            if (v < 1) {
                throw new CommandLine.TypeConversionException("'" + value + "' (expected: a whole number > 0)");
            }
            return v;
        }
    }

    static final class ProtocolConverter implements CommandLine.ITypeConverter<Protocol> {
        @Override
        public Protocol convert(String value) {
            try {
                return Protocol.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
