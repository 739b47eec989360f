package dev.trellis.bench.run;

import dev.trellis.bench.backend.EchoServer;
import dev.trellis.bench.load.LoadGenerator;
import dev.trellis.bench.load.LoadResult;
import dev.trellis.bench.load.LoopLag;
import dev.trellis.bench.load.Progress;
import dev.trellis.bench.load.Transports;
import dev.trellis.bench.report.LatencyPlot;
import dev.trellis.bench.report.MachineInfo;
import dev.trellis.bench.report.Report;
import dev.trellis.bench.report.RunInfo;
import dev.trellis.bench.report.ScenarioResult;
import dev.trellis.bench.report.ScenarioResult.MaxResult;
import dev.trellis.bench.report.ScenarioResult.RateResult;
import dev.trellis.bench.scenario.Binaries;
import dev.trellis.bench.scenario.CpuPlacement;
import dev.trellis.bench.scenario.Deployment;
import dev.trellis.bench.scenario.ProcStats;
import dev.trellis.common.Durations;
import dev.trellis.bench.scenario.ProcessSupervisor;
import dev.trellis.bench.scenario.Scenario;
import dev.trellis.bench.scenario.ScenarioContext;
import dev.trellis.bench.scenario.ScenarioSkipped;
import dev.trellis.bench.scenario.Scenarios;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * Runs the requested scenarios one after the other against one echo backend and writes the
 * report, plots and histograms. Every proxy a scenario started is stopped before the next begins.
 */
public final class BenchRunner {
    private final BenchSettings settings;
    private final PrintStream out;
    private final PrintStream err;
    private final boolean terminal;
    private final Binaries binaries;
    /** Lag of this JVM's generator and backend loops, read per phase to tell its own stalls from a proxy's. */
    private LoopLag benchLag;

    public BenchRunner(BenchSettings settings, PrintStream out, PrintStream err, boolean terminal, Binaries binaries) {
        this.settings = settings;
        this.out = out;
        this.err = err;
        this.terminal = terminal;
        this.binaries = binaries;
    }

    private static String describe(ScenarioContext.SidecarSettings s) {
        return s.jar() + ", java: " + s.java() + ", JVM options: "
                + (s.jvmOptions().isEmpty() ? "(none)" : String.join(" ", s.jvmOptions()));
    }

    /** Runs and returns the results; the report is in {@code settings.out()}. */
    public List<ScenarioResult> run() throws IOException, InterruptedException {
        Instant started = Instant.now();
        Path outDir = settings.out();
        Files.createDirectories(outDir);
        List<String> notes = new ArrayList<>();

        List<Integer> allowed = CpuPlacement.allowedCpus();
        CpuPlacement placement = CpuPlacement.decide(settings.pin(), allowed, binaries.find("taskset"));
        String pinError = placement.pinThisProcess();
        if (pinError != null) {
            notes.add("Could not pin the benchmark JVM (" + pinError + "); nothing was pinned.");
            placement = CpuPlacement.decide(false, allowed, binaries.find("taskset"));
        }
        if (!ProcStats.available()) {
            notes.add("/proc is not readable: proxy CPU and memory figures are missing.");
        }
        Map<String, String> machine = MachineInfo.collect(binaries, allowed);
        if (settings.scenarios().contains("sidecar") || settings.scenarios().contains("mesh")) {
            machine.put("sidecar", describe(settings.sidecar()));
        }
        for (String name : settings.scenarios()) {
            String v = Scenarios.variantOf(name);
            if (v != null) {
                machine.put("sidecar@" + v, describe(settings.sidecar().variant(v)));
            }
        }
        err.println("trellis bench: " + placement.note());

        EventLoopGroup backendGroup = Transports.group(placement.generatorThreads(), "bench-echo");
        EventLoopGroup clientGroup = Transports.group(placement.generatorThreads(), "bench-load");
        Path workDir = Files.createTempDirectory("trellis-bench-");
        List<ScenarioResult> results = new ArrayList<>();
        try (ProcessSupervisor processes = new ProcessSupervisor();
             EchoServer backend = EchoServer.start(backendGroup, new InetSocketAddress("127.0.0.1", 0))) {
            processes.deleteOnInterrupt(workDir);
            ScenarioContext ctx = new ScenarioContext(settings.protocol(), backend.address(), workDir,
                    outDir.resolve("pki"), placement, processes, binaries, settings.sidecar(), Duration.ofSeconds(60));
            List<io.netty.util.concurrent.EventExecutor> loops = new ArrayList<>();
            backendGroup.forEach(loops::add);
            clientGroup.forEach(loops::add);
            benchLag = LoopLag.watch(loops, Duration.ofMillis(5));
            results.addAll(measureAll(ctx, clientGroup, processes));
            benchLag.close();
            copyConfigs(workDir, outDir.resolve("configs"));
        } finally {
            clientGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            backendGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
            deleteTree(workDir);
        }

        RunInfo info = new RunInfo(settings.command(), started, Instant.now(), settings.protocol().label(), settings.rates(),
                settings.warmup(), settings.duration(), settings.maxDuration(), settings.connections(),
                settings.payloadBytes(), settings.maxDepth(), settings.rounds(), machine, placement.note(), notes);
        write(outDir, info, results);
        out.println();
        out.print(Report.latencyTable(info, results));
        out.println();
        out.print(Report.throughputTable(info, results));
        out.println();
        out.println("Report: " + outDir.resolve("report.md"));
        return results;
    }

    /**
     * Runs the path flat out, unmeasured, before its first phase: JIT-compiled proxies (the Trellis
     * sidecar) and this JVM's own generator and backend start every scenario warm, as C proxies do.
     */
    private void warmUpPath(String name, LoadGenerator gen) {
        Duration time = pathWarmup(settings.warmup());
        if (time.isZero()) {
            return;
        }
        Progress progress = new Progress();
        withProgress(name + " warm-up", time, progress, () ->
                gen.closedLoop(settings.maxDepth(), Duration.ZERO, time, settings.drain(), progress, () -> {}, () -> {}));
    }

    /** How long one settling step runs, and the share of a CPU the compilers may use in it to count as settled. */
    static final Duration JIT_SETTLE_STEP = Duration.ofSeconds(3);
    static final double JIT_SETTLED_CPU_SHARE = 0.03;
    static final Duration JIT_SETTLE_MAX = Duration.ofSeconds(90);

    /**
     * After the flat-out warm-up, keeps a path whose proxies are JVMs at the first fixed rate,
     * unmeasured, until their JIT compilers are nearly idle ({@link #settled}). Flat out on a CPU they
     * share, two sidecars leave a compile queue that otherwise drains during the measured phases:
     * perf sched showed the C2 threads using half the proxies' CPU 35 s after start, delaying the event
     * loops by 4 ms on average. A path without compiler threads (direct, HAProxy, nginx) returns at once.
     */
    private void settleJit(String name, LoadGenerator gen, Deployment d) {
        if (settings.warmup().isZero() || d.proxies().isEmpty() || !ProcStats.available()
                || d.proxyCompilerCpuSeconds() == 0) {
            return;
        }
        int rate = settings.rates().isEmpty() ? 1000 : settings.rates().get(0);
        long began = System.nanoTime();
        while (System.nanoTime() - began < JIT_SETTLE_MAX.toNanos()) {
            double before = d.proxyCompilerCpuSeconds();
            Progress progress = new Progress();
            withProgress(name + " JIT settling", JIT_SETTLE_STEP, progress, () -> gen.openLoop(rate, Duration.ZERO,
                    JIT_SETTLE_STEP, settings.drain(), progress, () -> {}, () -> {}));
            if (settled(d.proxyCompilerCpuSeconds() - before, JIT_SETTLE_STEP)) {
                err.println("trellis bench: " + name + ": JIT compilers settled after "
                        + Durations.format(Duration.ofSeconds(Math.round((System.nanoTime() - began) / 1e9)))
                        + " more at " + rate + " rps");
                return;
            }
        }
        err.println("trellis bench: " + name + ": JIT compilers still busy after " + Durations.format(JIT_SETTLE_MAX)
                + " more at " + rate + " rps; measuring anyway");
    }

    /** Whether compilers that used {@code compilerSeconds} of CPU during {@code step} count as idle. */
    static boolean settled(double compilerSeconds, Duration step) {
        return compilerSeconds <= JIT_SETTLED_CPU_SHARE * step.toNanos() / 1e9;
    }

    /** Runs {@code work} with a progress bar on the terminal (none otherwise). */
    private <T> T withProgress(String label, Duration total, Progress progress, java.util.function.Supplier<T> work) {
        ProgressBar bar = ProgressBar.start(err, terminal, label, total.toNanos(), progress);
        try {
            return work.get();
        } finally {
            bar.close();
        }
    }

    /** Twice the per-phase warm-up, at least 2 s; none when warm-up is off. */
    static Duration pathWarmup(Duration phaseWarmup) {
        if (phaseWarmup.isZero()) {
            return Duration.ZERO;
        }
        Duration twice = phaseWarmup.multipliedBy(2);
        return twice.compareTo(Duration.ofSeconds(2)) < 0 ? Duration.ofSeconds(2) : twice;
    }

    /** A scenario whose proxies are up, with its connections, collecting results phase by phase. */
    private static final class Live {
        final String name;
        final String path;
        final Deployment deployment;
        final LoadGenerator gen;
        /** Per round: its fixed-rate phases so far, and its closed-loop phase. */
        final List<List<RateResult>> rates = new ArrayList<>();
        final List<MaxResult> max = new ArrayList<>();
        String failure;

        Live(String name, String path, Deployment deployment, LoadGenerator gen, int rounds) {
            this.name = name;
            this.path = path;
            this.deployment = deployment;
            this.gen = gen;
            for (int i = 0; i < rounds; i++) {
                rates.add(new ArrayList<>());
                max.add(null);
            }
        }

        /** The rounds measured so far (a failed scenario's last one may lack phases). */
        List<ScenarioResult.Round> rounds() {
            List<ScenarioResult.Round> done = new ArrayList<>();
            for (int i = 0; i < rates.size(); i++) {
                if (!rates.get(i).isEmpty() || max.get(i) != null) {
                    done.add(new ScenarioResult.Round(rates.get(i), max.get(i)));
                }
            }
            return done;
        }

        boolean proxies() {
            return !deployment.proxies().isEmpty();
        }
    }

    /**
     * Starts every scenario, then measures them phase by phase, each rate for all scenarios back to
     * back, so that a machine whose load changes over the run (a shared one) disturbs the rows that
     * are compared as little as it can. Idle paths wait with their connections open.
     */
    private List<ScenarioResult> measureAll(ScenarioContext ctx, EventLoopGroup clientGroup, ProcessSupervisor processes) {
        Map<String, ScenarioResult> notRun = new LinkedHashMap<>();
        List<Live> live = new ArrayList<>();
        try {
            for (String name : settings.scenarios()) {
                Scenario scenario = Scenarios.byName(name).orElseThrow();
                Object started = start(scenario, ctx, clientGroup, processes);
                if (started instanceof Live) {
                    live.add((Live) started);
                } else {
                    notRun.put(name, (ScenarioResult) started);
                }
            }
            for (int rate : settings.rates()) {
                for (int round = 0; round < settings.rounds(); round++) {
                    for (Live l : live) {
                        if (l.failure == null) {
                            runRate(l, rate, round, processes);
                        }
                    }
                }
            }
            if (!settings.maxDuration().isZero()) {
                for (int round = 0; round < settings.rounds(); round++) {
                    for (Live l : live) {
                        if (l.failure == null) {
                            runMax(l, round, processes);
                        }
                    }
                }
            }
            List<ScenarioResult> results = new ArrayList<>();
            for (String name : settings.scenarios()) {
                ScenarioResult r = notRun.get(name);
                if (r == null) {
                    r = finish(live.stream().filter(l -> l.name.equals(name)).findFirst().orElseThrow());
                }
                results.add(r);
            }
            return results;
        } finally {
            live.forEach(l -> l.gen.close());
            processes.stopAll();
        }
    }

    /** Deploys a scenario and opens and warms its connections: a {@link Live}, or the result saying why not. */
    private Object start(Scenario scenario, ScenarioContext ctx, EventLoopGroup clientGroup, ProcessSupervisor processes) {
        String name = scenario.name();
        String path = scenario.describe(ctx);
        err.println("trellis bench: " + name + ": " + path);
        Deployment d;
        try {
            d = scenario.deploy(ctx);
        } catch (ScenarioSkipped e) {
            err.println("trellis bench: " + name + " skipped: " + e.getMessage());
            return ScenarioResult.skipped(name, path, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ScenarioResult.failed(name, path, "interrupted", List.of(), null);
        } catch (Exception e) {
            err.println("trellis bench: " + name + " failed to start: " + e.getMessage());
            return ScenarioResult.failed(name, path, "did not start: " + e.getMessage(), List.of(), null);
        }
        LoadGenerator gen = null;
        try {
            gen = new LoadGenerator(clientGroup, settings.protocol(), d.target(), settings.connections(),
                    settings.payloadBytes());
            warmUpPath(name, gen);
            settleJit(name, gen, d);
            return new Live(name, path, d, gen, settings.rounds());
        } catch (RuntimeException e) {
            err.println("trellis bench: " + name + " failed: " + e.getMessage());
            if (gen != null) {
                gen.close();
            }
            d.proxies().forEach(p -> processes.stop(p.process()));
            return ScenarioResult.failed(name, path, e.getMessage(), List.of(), null);
        }
    }

    /**
     * Collects this JVM's garbage before a phase, outside its measured window: with the launcher's
     * large young generation no collection then falls inside the phase, where its pause would be
     * charged to the proxy being measured.
     */
    private static void collectBeforePhase() {
        System.gc();
    }

    /** A phase's name on the console: {@code mesh @ 1000 rps}, with {@code (round 2/3)} when there are rounds. */
    private String phase(Live l, String load, int round) {
        return l.name + " @ " + load + (settings.rounds() == 1 ? "" : " (round " + (round + 1) + "/" + settings.rounds() + ")");
    }

    private void runRate(Live l, int rate, int round, ProcessSupervisor processes) {
        Deployment d = l.deployment;
        collectBeforePhase();
        try {
            CpuWindow cpu = new CpuWindow(l);
            LoopLag.Max[] lag = new LoopLag.Max[1];
            Progress progress = new Progress();
            LoadResult r = withProgress(phase(l, rate + " rps", round), settings.warmup().plus(settings.duration()),
                    progress, () -> l.gen.openLoop(rate, settings.warmup(), settings.duration(), settings.drain(),
                            progress, () -> {
                                cpu.open();
                                benchLag.takeMax();
                            }, () -> {
                                cpu.close();
                                lag[0] = benchLag.takeMax();
                            }));
            Long rss = l.proxies() ? sum(d.proxies().stream().map(Deployment.Proxy::rssBytes).toList()) : null;
            l.rates.get(round).add(new RateResult(rate, r, cpu.proxySeconds(), rss, lag[0], cpu.jitSeconds()));
            err.println("trellis bench: " + phase(l, rate + " rps", round) + ": " + summary(r) + cpu.summary()
                    + (lag[0] == null ? "" : String.format(Locale.ROOT, "; bench JVM loop lag max %.3f ms at %s",
                            lag[0].nanos() / 1e6, lag[0].at())));
            String dead = d.deadProxy();
            if (dead != null) {
                fail(l, dead + " during the " + rate + " rps phase", processes);
            }
        } catch (RuntimeException e) {
            fail(l, e.getMessage(), processes);
        }
    }

    private void runMax(Live l, int round, ProcessSupervisor processes) {
        Deployment d = l.deployment;
        collectBeforePhase();
        try {
            CpuWindow cpu = new CpuWindow(l);
            Progress progress = new Progress();
            LoadResult r = withProgress(phase(l, "max", round), settings.warmup().plus(settings.maxDuration()), progress,
                    () -> l.gen.closedLoop(settings.maxDepth(), settings.warmup(), settings.maxDuration(),
                            settings.drain(), progress, cpu::open, cpu::close));
            l.max.set(round, new MaxResult(r, settings.maxDepth(), cpu.proxySeconds(), cpu.jitSeconds()));
            err.println("trellis bench: " + phase(l, "max", round) + ": " + String.format(Locale.ROOT, "%.0f rps, ", r.throughput())
                    + summary(r) + cpu.summary());
            String dead = d.deadProxy();
            if (dead != null) {
                fail(l, dead + " during the max-throughput phase", processes);
            }
        } catch (RuntimeException e) {
            fail(l, e.getMessage(), processes);
        }
    }

    /**
     * The CPU a path's proxies used between {@link #open} and {@link #close} (the measured window),
     * and the part of it their JIT compiler threads used; null for a path without proxies.
     */
    private static final class CpuWindow {
        private final Live live;
        private double proxyAtOpen;
        private double jitAtOpen;
        private Double proxy;
        private Double jit;

        CpuWindow(Live live) {
            this.live = live;
        }

        void open() {
            proxyAtOpen = live.deployment.proxyCpuSeconds();
            jitAtOpen = live.deployment.proxyCompilerCpuSeconds();
        }

        void close() {
            if (live.proxies()) {
                proxy = live.deployment.proxyCpuSeconds() - proxyAtOpen;
                jit = live.deployment.proxyCompilerCpuSeconds() - jitAtOpen;
            }
        }

        Double proxySeconds() {
            return proxy;
        }

        Double jitSeconds() {
            return jit;
        }

        /**
         * {@code ; proxy CPU 6.10 s, JIT compilers 0.21 s of it}: compiling in a measured window is CPU
         * a proxy spends that HAProxy does not, and a sign the window was not steady state yet.
         */
        String summary() {
            return proxy == null ? "" : String.format(Locale.ROOT, "; proxy CPU %.2f s, JIT compilers %.2f s of it", proxy, jit);
        }
    }

    private void fail(Live l, String reason, ProcessSupervisor processes) {
        err.println("trellis bench: " + l.name + " failed: " + reason);
        l.failure = reason;
        l.gen.close();
        l.deployment.proxies().forEach(p -> processes.stop(p.process()));
    }

    /** The scenario's result, with the peak RSS of its proxies read while they still run. */
    private static ScenarioResult finish(Live l) {
        if (l.failure != null) {
            return ScenarioResult.failed(l.name, l.path, l.failure, l.rounds());
        }
        Deployment d = l.deployment;
        Long peak = d.proxies().stream().map(Deployment.Proxy::peakRssBytes).filter(OptionalLong::isPresent)
                .map(OptionalLong::getAsLong).max(Comparator.naturalOrder()).orElse(null);
        return ScenarioResult.of(l.name, l.path, ScenarioResult.Status.MEASURED, null, l.rounds(), peak,
                d.proxies().stream().map(Deployment.Proxy::name).toList());
    }

    private static Long sum(List<OptionalLong> values) {
        long total = 0;
        boolean any = false;
        for (OptionalLong v : values) {
            if (v.isPresent()) {
                total += v.getAsLong();
                any = true;
            }
        }
        return any ? total : null;
    }

    private static String summary(LoadResult r) {
        Histogram h = r.corrected();
        if (h.getTotalCount() == 0) {
            return "no successful requests, " + r.errors() + " errors " + r.errorKinds();
        }
        return String.format(Locale.ROOT, "p50 %.3f ms, p99 %.3f ms, max %.3f ms (intended at %s), %d ok, %d errors",
                h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getMaxValue() / 1e6,
                r.slowestAt(), r.ok(), r.errors());
    }

    /** Writes report.md, one SVG per rate and the .hgrm files into {@code outDir}. */
    public static void write(Path outDir, RunInfo info, List<ScenarioResult> results) throws IOException {
        Files.createDirectories(outDir);
        for (ScenarioResult r : results) {
            for (RateResult rr : r.rates()) {
                writeHgrm(outDir.resolve(Report.hgrmFile(r.name(), rr.rate())), rr.load().corrected());
                writeHgrm(outDir.resolve(Report.hgrmFile(r.name(), rr.rate()).replace(".hgrm", "-uncorrected.hgrm")),
                        rr.load().uncorrected());
            }
            if (r.max() != null) {
                writeHgrm(outDir.resolve(Report.hgrmFile(r.name(), 0)), r.max().load().corrected());
            }
            if (r.rounds().size() > 1) {
                for (int i = 0; i < r.rounds().size(); i++) {
                    String round = "-round" + (i + 1) + ".hgrm";
                    for (RateResult rr : r.rounds().get(i).rates()) {
                        writeHgrm(outDir.resolve(Report.hgrmFile(r.name(), rr.rate()).replace(".hgrm", round)),
                                rr.load().corrected());
                    }
                    if (r.rounds().get(i).max() != null) {
                        writeHgrm(outDir.resolve(Report.hgrmFile(r.name(), 0).replace(".hgrm", round)),
                                r.rounds().get(i).max().load().corrected());
                    }
                }
            }
        }
        for (int rate : info.rates()) {
            Map<String, Histogram> series = new LinkedHashMap<>();
            for (ScenarioResult r : results) {
                r.at(rate).ifPresent(x -> series.put(r.name(), x.load().corrected()));
            }
            String title = "Latency by percentile at " + rate + " rps (" + info.protocol() + ", " + info.connections()
                    + " connections, coordinated omission corrected)";
            Files.writeString(outDir.resolve(Report.plotFile(rate)), LatencyPlot.svg(title, series), StandardCharsets.UTF_8);
        }
        Files.writeString(outDir.resolve("report.md"), Report.markdown(info, results), StandardCharsets.UTF_8);
    }

    private static void writeHgrm(Path file, Histogram h) throws IOException {
        try (PrintStream ps = new PrintStream(Files.newOutputStream(file), false, StandardCharsets.UTF_8)) {
            if (h.getTotalCount() > 0) {
                h.outputPercentileDistribution(ps, 1_000_000.0);
            }
        }
    }

    private static void copyConfigs(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            List<Path> configs = files.filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".cfg") || n.endsWith(".conf") || n.endsWith(".yaml") || n.endsWith(".log");
            }).toList();
            if (configs.isEmpty()) {
                return;
            }
            Files.createDirectories(to);
            for (Path p : configs) {
                Files.copy(p, to.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort: it is under the temp folder
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
