package dev.trellis.bench.report;

import dev.trellis.bench.load.LoadResult;
import dev.trellis.bench.report.ScenarioResult.MaxResult;
import dev.trellis.bench.report.ScenarioResult.RateResult;
import dev.trellis.bench.report.ScenarioResult.Status;
import dev.trellis.common.Durations;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/** The run's Markdown report: tables, goals, plots, method and machine. */
public final class Report {
    /** The sidecar memory goal of issue 10. */
    static final long SIDECAR_RSS_GOAL = 64L << 20;

    private Report() {}

    /** The file name of the plot for {@code rate}. */
    public static String plotFile(int rate) {
        return "latency-" + rate + "rps.svg";
    }

    /** The file name of a scenario's histogram at {@code rate} (0: the closed-loop run). */
    public static String hgrmFile(String scenario, int rate) {
        return scenario + "-" + (rate == 0 ? "max" : rate + "rps") + ".hgrm";
    }

    public static String markdown(RunInfo run, List<ScenarioResult> results) {
        StringBuilder md = new StringBuilder();
        md.append("# Trellis benchmark, ").append(run.started()).append("\n\n");
        md.append("Reproduce with:\n\n```sh\n").append(run.command()).append("\n```\n\n");
        md.append(latencyTable(run, results)).append('\n');
        md.append(throughputTable(run, results)).append('\n');
        String jit = jitCompilation(run, results);
        if (!jit.isEmpty()) {
            md.append(jit).append('\n');
        }
        md.append("## Goals\n\n").append(goals(run, results)).append('\n');
        if (run.rounds() > 1) {
            md.append(roundsTable(run, results)).append('\n');
        }
        List<ScenarioResult> notRun = results.stream().filter(r -> r.status() != Status.MEASURED).toList();
        if (!notRun.isEmpty()) {
            md.append("## Skipped and failed scenarios\n\n");
            for (ScenarioResult r : notRun) {
                md.append("- **").append(r.name()).append("** ").append(r.status().name().toLowerCase())
                        .append(": ").append(oneLine(r.reason())).append('\n');
            }
            md.append('\n');
        }
        Map<String, Long> errors = errorKinds(results);
        if (!errors.isEmpty()) {
            md.append("## Errors\n\n");
            errors.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
            md.append('\n');
        }
        md.append("## Latency by percentile\n\n");
        for (int rate : run.rates()) {
            md.append("![latency by percentile at ").append(rate).append(" rps](").append(plotFile(rate)).append(")\n\n");
        }
        md.append(method(run, results));
        md.append("## Machine\n\n| | |\n| --- | --- |\n");
        run.machine().forEach((k, v) -> md.append("| ").append(k).append(" | ").append(cell(v)).append(" |\n"));
        md.append("| CPU placement | ").append(cell(run.placement())).append(" |\n");
        if (!run.notes().isEmpty()) {
            md.append("\n## Notes\n\n");
            run.notes().forEach(n -> md.append("- ").append(n).append('\n'));
        }
        return md.toString();
    }

    /** The fixed-rate table alone (also printed on the console and pasted into the README). */
    public static String latencyTable(RunInfo run, List<ScenarioResult> results) {
        StringBuilder md = new StringBuilder();
        md.append("## Latency at fixed rates (open loop, ").append(run.protocol()).append(", ")
                .append(run.connections()).append(" connections, ").append(run.payloadBytes()).append(" B payload)\n\n");
        md.append("Milliseconds from each request's intended send time (coordinated omission corrected). ")
                .append("\"added\" is the scenario minus `direct` at the same rate, with the ratio to `direct`.")
                .append(run.rounds() > 1 ? " Each phase ran in " + run.rounds() + " rounds; this table counts all rounds' "
                        + "requests together, and \"Rounds\" below gives each round.\n\n" : "\n\n");
        md.append("| scenario | rate (rps) | achieved | p50 | p90 | p99 | p99.9 | max | p50 added | p99 added | proxy CPU s / 1000 req | proxy RSS (MiB) | errors |\n");
        md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        Optional<ScenarioResult> direct = results.stream()
                .filter(r -> r.name().equals("direct") && !r.rates().isEmpty()).findFirst();
        for (int rate : run.rates()) {
            for (ScenarioResult r : results) {
                Optional<RateResult> rr = r.at(rate);
                if (rr.isEmpty()) {
                    continue;
                }
                Histogram h = rr.get().load().corrected();
                Optional<Histogram> base = direct.flatMap(d -> d.at(rate)).map(x -> x.load().corrected())
                        .filter(b -> b.getTotalCount() > 0);
                boolean self = r.name().equals("direct");
                md.append("| ").append(r.name()).append(" | ").append(rate)
                        .append(" | ").append(Fmt.rps(rr.get().load().throughput()))
                        .append(" | ").append(p(h, 50)).append(" | ").append(p(h, 90)).append(" | ").append(p(h, 99))
                        .append(" | ").append(p(h, 99.9)).append(" | ").append(h.getTotalCount() == 0 ? "-" : Fmt.ms(h.getMaxValue()))
                        .append(" | ").append(self || base.isEmpty() || h.getTotalCount() == 0 ? "-" : Fmt.added(h.getValueAtPercentile(50), base.get().getValueAtPercentile(50)))
                        .append(" | ").append(self || base.isEmpty() || h.getTotalCount() == 0 ? "-" : Fmt.added(h.getValueAtPercentile(99), base.get().getValueAtPercentile(99)))
                        .append(" | ").append(rr.get().cpuPer1000() == null ? "-" : Fmt.num(rr.get().cpuPer1000(), 3))
                        .append(" | ").append(rr.get().proxyRssBytes() == null ? "-" : Fmt.mib(rr.get().proxyRssBytes()))
                        .append(" | ").append(rr.get().load().errors())
                        .append(" |\n");
            }
        }
        md.append("\nWhen the slowest request of each row was due (UTC), to line a stall up with proxy, GC or kernel logs, ")
                .append("and the largest lag of the benchmark JVM's own event loops in that window (a stall there is the ")
                .append("generator's or the echo backend's, not a proxy's): ");
        StringJoiner slowest = new StringJoiner("; ");
        for (int rate : run.rates()) {
            for (ScenarioResult r : results) {
                r.at(rate).filter(x -> x.load().slowestAt() != null).ifPresent(x -> slowest.add(
                        r.name() + " at " + rate + " rps: " + Fmt.ms(x.load().corrected().getMaxValue()) + " ms at "
                                + SLOWEST_TIME.format(x.load().slowestAt())
                                + (x.benchLag() == null ? "" : " (bench JVM loops lagged at most "
                                        + Fmt.ms(x.benchLag().nanos()) + " ms, at " + SLOWEST_TIME.format(x.benchLag().at()) + ")")));
            }
        }
        md.append(slowest.length() == 0 ? "-" : slowest.toString()).append(".\n");
        return md.toString();
    }

    private static final DateTimeFormatter SLOWEST_TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss.SSS", Locale.ROOT).withZone(ZoneOffset.UTC);

    /** The closed-loop table. */
    public static String throughputTable(RunInfo run, List<ScenarioResult> results) {
        StringBuilder md = new StringBuilder();
        md.append("## Maximum throughput (closed loop, ").append(run.connections()).append(" connections x ")
                .append(run.maxDepth()).append(" in flight, ").append(Durations.format(run.maxDuration())).append(")\n\n");
        if (run.maxDuration().isZero()) {
            return md.append("Not measured (--max-duration 0s).\n").toString();
        }
        md.append("| scenario | throughput (rps) | vs direct | p50 | p99 | proxy CPU s / 1000 req | requests per proxy CPU-second | peak RSS per proxy (MiB) | errors |\n");
        md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        Optional<Double> base = results.stream().filter(r -> r.name().equals("direct") && r.max() != null)
                .findFirst().map(r -> r.max().load().throughput());
        for (ScenarioResult r : results) {
            MaxResult m = r.max();
            if (m == null) {
                continue;
            }
            Histogram h = m.load().corrected();
            Double cpu = m.cpuPer1000();
            md.append("| ").append(r.name())
                    .append(" | ").append(Fmt.rps(m.load().throughput()))
                    .append(" | ").append(base.isPresent() && base.get() > 0 && !r.name().equals("direct")
                            ? Fmt.num(m.load().throughput() / base.get(), 2) + "x" : "-")
                    .append(" | ").append(p(h, 50)).append(" | ").append(p(h, 99))
                    .append(" | ").append(cpu == null ? "-" : Fmt.num(cpu, 3))
                    .append(" | ").append(cpu == null || cpu <= 0 ? "-" : Fmt.rps(1000.0 / cpu))
                    .append(" | ").append(r.peakRssBytes() == null ? "-" : Fmt.mib(r.peakRssBytes()))
                    .append(" | ").append(m.load().errors())
                    .append(" |\n");
        }
        return md.toString();
    }

    /**
     * How much of the proxies' CPU in the measured windows their JIT compilers used: CPU a JVM
     * proxy spends that a C one does not, and a sign the window was not yet steady state. Empty
     * when no proxy compiled anything.
     */
    static String jitCompilation(RunInfo run, List<ScenarioResult> results) {
        StringJoiner rows = new StringJoiner("; ");
        for (ScenarioResult r : results) {
            List<String> phases = new ArrayList<>();
            for (int rate : run.rates()) {
                r.at(rate).ifPresent(x -> jitPhase(phases, x.jitCpuSeconds(), x.proxyCpuSeconds(), rate + " rps"));
            }
            if (r.max() != null) {
                jitPhase(phases, r.max().jitCpuSeconds(), r.max().proxyCpuSeconds(), "max");
            }
            if (!phases.isEmpty()) {
                rows.add(r.name() + " " + String.join(", ", phases));
            }
        }
        if (rows.length() == 0) {
            return "";
        }
        return "JIT compiler threads' CPU within the proxies' CPU in the measured windows"
                + (run.rounds() > 1 ? " (all rounds)" : "") + ": " + rows + ".\n";
    }

    private static void jitPhase(List<String> phases, Double jit, Double proxy, String load) {
        if (jit != null && jit > 0 && proxy != null) {
            phases.add(Fmt.num(jit, 2) + " of " + Fmt.num(proxy, 2) + " s at " + load);
        }
    }

    /** Where Trellis stands against the targets of issue 10, or why that is not known yet. */
    static String goals(RunInfo run, List<ScenarioResult> results) {
        int rate = run.rates().contains(1000) ? 1000 : run.rates().get(0);
        Optional<ScenarioResult> mesh = measured(results, "mesh");
        Optional<ScenarioResult> peer = measured(results, "haproxy-mtls");
        Optional<ScenarioResult> sidecar = measured(results, "sidecar");
        StringBuilder g = new StringBuilder();
        if (mesh.isEmpty() || peer.isEmpty()) {
            g.append("- mesh vs haproxy-mtls (added latency at ").append(rate).append(" rps, throughput per proxy CPU-second): ")
                    .append("not known from this run (").append(mesh.isEmpty() ? "mesh" : "haproxy-mtls")
                    .append(" was not measured").append(reason(results, mesh.isEmpty() ? "mesh" : "haproxy-mtls")).append(").\n");
        } else {
            Optional<RateResult> m = mesh.get().at(rate);
            Optional<RateResult> h = peer.get().at(rate);
            if (m.isPresent() && h.isPresent() && (m.get().load().corrected().getTotalCount() == 0
                    || h.get().load().corrected().getTotalCount() == 0)) {
                // an empty histogram reads 0 ms, which would pass for the best latency
                g.append("- p50 and p99 at ").append(rate).append(" rps: not known from this run (")
                        .append(m.get().load().corrected().getTotalCount() == 0 ? "mesh" : "haproxy-mtls")
                        .append(" completed no request).\n");
            } else if (m.isPresent() && h.isPresent()) {
                for (double q : new double[] {50, 99}) {
                    long mv = m.get().load().corrected().getValueAtPercentile(q);
                    long hv = h.get().load().corrected().getValueAtPercentile(q);
                    g.append("- p").append((int) q).append(" at ").append(rate).append(" rps: mesh ").append(Fmt.ms(mv))
                            .append(" ms, haproxy-mtls ").append(Fmt.ms(hv)).append(" ms");
                    List<Double> ratios = new ArrayList<>();
                    for (int i = 0; i < rounds(mesh.get(), peer.get()); i++) {
                        Optional<RateResult> mr = mesh.get().rounds().get(i).at(rate);
                        Optional<RateResult> hr = peer.get().rounds().get(i).at(rate);
                        // a round where either side completed nothing has no ratio (an empty histogram reads 0)
                        if (mr.isPresent() && hr.isPresent() && mr.get().load().corrected().getTotalCount() > 0
                                && hr.get().load().corrected().getTotalCount() > 0) {
                            ratios.add(mr.get().load().corrected().getValueAtPercentile(q)
                                    / (double) hr.get().load().corrected().getValueAtPercentile(q));
                        }
                    }
                    g.append(ratios.size() > 1 ? verdictByRounds(ratios, false)
                            : ": " + (mv <= hv ? "met" : "not met (" + Fmt.num(mv / (double) hv, 2) + "x)")).append(".\n");
                }
            }
            if (mesh.get().max() != null && peer.get().max() != null
                    && mesh.get().max().cpuPer1000() != null && peer.get().max().cpuPer1000() != null) {
                double mc = mesh.get().max().cpuPer1000();
                double hc = peer.get().max().cpuPer1000();
                g.append("- requests per proxy CPU-second at max throughput: mesh ").append(Fmt.rps(1000 / mc))
                        .append(", haproxy-mtls ").append(Fmt.rps(1000 / hc));
                List<Double> ratios = new ArrayList<>();
                for (int i = 0; i < rounds(mesh.get(), peer.get()); i++) {
                    MaxResult mr = mesh.get().rounds().get(i).max();
                    MaxResult hr = peer.get().rounds().get(i).max();
                    if (mr != null && hr != null && mr.cpuPer1000() != null && hr.cpuPer1000() != null && mr.cpuPer1000() > 0) {
                        ratios.add(hr.cpuPer1000() / mr.cpuPer1000());
                    }
                }
                g.append(ratios.size() > 1 ? verdictByRounds(ratios, true)
                        : ": " + (mc <= hc ? "met" : "not met (" + Fmt.num(hc / mc, 2) + "x)")).append(".\n");
            }
        }
        Optional<RateResult> s = sidecar.flatMap(x -> x.at(rate)).filter(x -> x.proxyRssBytes() != null);
        Optional<RateResult> sm = mesh.flatMap(x -> x.at(rate)).filter(x -> x.proxyRssBytes() != null);
        if (s.isEmpty() && sm.isEmpty()) {
            g.append("- sidecar RSS under 64 MiB at ").append(rate).append(" rps: not known from this run (sidecar was not measured")
                    .append(reason(results, "sidecar")).append(").\n");
        } else {
            long rss = s.map(RateResult::proxyRssBytes).orElse(0L);
            if (sm.isPresent()) {
                // two sidecars in the mesh row: the figure there is their sum, so halve it for one
                rss = Math.max(rss, sm.get().proxyRssBytes() / 2);
            }
            g.append("- sidecar RSS at ").append(rate).append(" rps: ").append(Fmt.mib(rss)).append(" MiB (goal: under 64 MiB): ")
                    .append(rss < SIDECAR_RSS_GOAL ? "met" : "not met").append(".\n");
        }
        return g.toString();
    }

    private static int rounds(ScenarioResult a, ScenarioResult b) {
        return Math.min(a.rounds().size(), b.rounds().size());
    }

    /**
     * The goal judged on the median of the rounds' own ratios (mesh over haproxy-mtls), so that one
     * round a neighbour disturbed does not decide it; {@code higherIsBetter} for throughput.
     */
    static String verdictByRounds(List<Double> ratios, boolean higherIsBetter) {
        double median = median(ratios);
        long met = ratios.stream().filter(r -> higherIsBetter ? r >= 1 : r <= 1).count();
        boolean ok = higherIsBetter ? median >= 1 : median <= 1;
        return "; mesh / haproxy-mtls round by round " + String.join(", ", ratios.stream().map(r -> Fmt.num(r, 2) + "x").toList())
                + ", median " + Fmt.num(median, 2) + "x: " + (ok ? "met" : "not met") + " (met in " + met + " of "
                + ratios.size() + " rounds)";
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** Each round's p50 and p99 per rate, and its requests per proxy CPU-second at max (when there are rounds). */
    static String roundsTable(RunInfo run, List<ScenarioResult> results) {
        StringBuilder md = new StringBuilder("## Rounds\n\n");
        md.append("Each phase ran ").append(run.rounds()).append(" times: round 1 of every scenario, then round 2, and so on, ")
                .append("so rows of one round were measured minutes apart and a change in the machine's load falls on ")
                .append("both sides of a comparison. The goals above take the median of the rounds' ratios.\n\n");
        md.append("| scenario | figure");
        for (int i = 1; i <= run.rounds(); i++) {
            md.append(" | round ").append(i);
        }
        md.append(" | median |\n| --- | ---").append(" | ---:".repeat(run.rounds() + 1)).append(" |\n");
        for (ScenarioResult r : results) {
            if (r.rounds().isEmpty()) {
                continue;
            }
            for (int rate : run.rates()) {
                for (double q : new double[] {50, 99}) {
                    List<Double> v = new ArrayList<>();
                    for (ScenarioResult.Round round : r.rounds()) {
                        v.add(round.at(rate).map(x -> x.load().corrected()).filter(h -> h.getTotalCount() > 0)
                                .map(h -> h.getValueAtPercentile(q) / 1e6).orElse(null));
                    }
                    roundsRow(md, r.name(), "p" + (int) q + " ms at " + rate + " rps", v, run.rounds(), 3);
                }
            }
            List<Double> v = new ArrayList<>();
            boolean perCpu = r.hasProxies();
            for (ScenarioResult.Round round : r.rounds()) {
                MaxResult m = round.max();
                if (m != null && perCpu && m.cpuPer1000() != null && m.cpuPer1000() > 0) {
                    v.add(1000 / m.cpuPer1000());
                } else if (m != null && !perCpu) {
                    v.add(m.load().throughput());
                } else {
                    v.add(null);
                }
            }
            roundsRow(md, r.name(), perCpu ? "requests per proxy CPU-second at max" : "rps at max", v, run.rounds(), 0);
        }
        return md.toString();
    }

    private static void roundsRow(StringBuilder md, String scenario, String figure, List<Double> values, int rounds, int digits) {
        List<Double> known = values.stream().filter(java.util.Objects::nonNull).toList();
        if (known.isEmpty()) {
            return;
        }
        md.append("| ").append(scenario).append(" | ").append(figure);
        for (int i = 0; i < rounds; i++) {
            md.append(" | ").append(i < values.size() && values.get(i) != null ? fmt(values.get(i), digits) : "-");
        }
        md.append(" | ").append(fmt(median(known), digits)).append(" |\n");
    }

    private static String fmt(double v, int digits) {
        return digits == 0 ? Fmt.rps(v) : Fmt.num(v, digits);
    }

    private static String reason(List<ScenarioResult> results, String name) {
        return results.stream().filter(r -> r.name().equals(name) && r.reason() != null).findFirst()
                .map(r -> ": " + oneLine(r.reason())).orElse(": not requested");
    }

    private static Optional<ScenarioResult> measured(List<ScenarioResult> results, String name) {
        return results.stream().filter(r -> r.name().equals(name) && r.status() == Status.MEASURED).findFirst();
    }

    private static String method(RunInfo run, List<ScenarioResult> results) {
        StringBuilder md = new StringBuilder("## Method\n\n");
        md.append("Paths measured in this run against the same echo backend. All are started first; then each rate runs ")
                .append("on every path back to back, then the max-throughput phase, so a change in the machine's load ")
                .append("over the run falls on the rows compared as evenly as it can:\n\n");
        for (ScenarioResult r : results) {
            md.append("- `").append(r.name()).append("`: ").append(r.path()).append('\n');
        }
        md.append('\n');
        md.append("- Load generator: open loop at each fixed rate (").append(String.join(", ", run.rates().stream().map(r -> r + " rps").toList()))
                .append("), requests spread evenly over ").append(run.connections()).append(" connections (")
                .append(run.protocol()).append(", ").append(run.payloadBytes()).append(" B request and response body). ")
                .append("Each request has an intended send time; latency runs from it, not from when the request could be written, ")
                .append("so a stall is charged to every request it delayed (coordinated-omission correction, as in wrk2 and fortio). ")
                .append("HTTP/1.1 carries one request at a time per connection; HTTP/2 and gRPC up to 100 streams.\n");
        md.append("- Each scenario first runs flat out (closed loop) for twice the phase warm-up, unmeasured, so JIT-compiled ")
                .append("proxies and the generator's own JVM are warm; a path whose proxies are JVMs then runs at the first rate, unmeasured, ")
                .append("in 3 s steps until their JIT compiler threads use under 3% of a CPU in a step (at most 90 s; the run's log says how long). ")
                .append("Each phase then starts with ").append(Durations.format(run.warmup())).append(" of warm-up at the same load, ")
                .append("not measured; then ").append(Durations.format(run.duration())).append(" measured.")
                .append(run.rounds() > 1 ? " With " + run.rounds() + " rounds every phase runs that many times, round by round "
                        + "over all scenarios (the warm-up and JIT settling only before the first)." : "").append('\n');
        md.append("- Maximum throughput: closed loop, ").append(run.maxDepth()).append(" request(s) in flight per connection, ")
                .append("the next sent as soon as one completes; latency there is from the send.\n");
        md.append("- Proxy CPU: utime + stime from `/proc/PID/stat` of every proxy process and its children, ")
                .append("sampled when the measured window opens and closes, divided by the requests in the window. ")
                .append("For two-hop paths (mesh, haproxy-mtls) it is the sum of both proxies.\n");
        md.append("- Proxy RSS: VmRSS from `/proc/PID/status` at the end of each fixed-rate phase (summed over a path's proxies); ")
                .append("peak RSS per proxy: the largest VmHWM of one proxy (with its children) over the whole scenario.\n");
        md.append("- CPU placement: ").append(run.placement()).append('\n');
        md.append("- Raw data: HdrHistogram percentile distributions (`.hgrm`, values in ms) per scenario and rate, ")
                .append("corrected, with `-uncorrected` twins measured from the actual send; plotted with HdrHistogram's plotter or read as text.\n\n");
        return md.toString();
    }

    private static Map<String, Long> errorKinds(List<ScenarioResult> results) {
        Map<String, Long> all = new TreeMap<>();
        for (ScenarioResult r : results) {
            List<LoadResult> loads = new ArrayList<>();
            r.rates().forEach(x -> loads.add(x.load()));
            if (r.max() != null) {
                loads.add(r.max().load());
            }
            for (LoadResult l : loads) {
                String phase = l.rate() == 0 ? "max" : l.rate() + " rps";
                l.errorKinds().forEach((k, v) -> all.merge(r.name() + " at " + phase + ": " + k, v, Long::sum));
            }
        }
        return all;
    }

    private static String p(Histogram h, double q) {
        return h.getTotalCount() == 0 ? "-" : Fmt.ms(h.getValueAtPercentile(q));
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').replace("|", "\\|").strip();
    }

    private static String cell(String s) {
        return oneLine(s);
    }
}
