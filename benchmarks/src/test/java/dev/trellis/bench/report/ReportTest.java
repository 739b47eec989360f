package dev.trellis.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.bench.load.Latencies;
import dev.trellis.bench.load.LoadResult;
import dev.trellis.bench.load.LoopLag;
import dev.trellis.bench.report.ScenarioResult.MaxResult;
import dev.trellis.bench.report.ScenarioResult.RateResult;
import dev.trellis.bench.run.BenchRunner;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/** The Markdown report, the SVG plot and the files a run writes, from known histograms. */
class ReportTest {
    private static final long US = TimeUnit.MICROSECONDS.toNanos(1);

    /** 1000 values: 990 at {@code base}, 10 at {@code tail}. */
    private static Histogram histogram(long base, long tail) {
        Histogram h = Latencies.newHistogram();
        h.recordValueWithCount(base, 990);
        h.recordValueWithCount(tail, 10);
        return h;
    }

    private static LoadResult load(int rate, Histogram h, long errors, Map<String, Long> kinds) {
        return new LoadResult(rate, h, h.copy(), h.getTotalCount(), errors, kinds, Duration.ofSeconds(1),
                Instant.parse("2026-01-01T00:00:12.345Z").plusMillis(h.getMaxValue() / 1000));
    }

    private static RunInfo run() {
        Map<String, String> machine = new LinkedHashMap<>();
        machine.put("CPU", "Test CPU");
        machine.put("JVM", "Test VM 17");
        return new RunInfo("./trellis bench direct haproxy --duration 1s", Instant.parse("2026-01-01T00:00:00Z"),
                Instant.parse("2026-01-01T00:01:00Z"), "http1", List.of(1000), Duration.ofSeconds(5), Duration.ofSeconds(1),
                Duration.ofSeconds(1), 16, 1024, 1, 1, machine, "Pinned with taskset: generator on CPU 0, proxies on CPU 1.",
                List.of());
    }

    private static List<ScenarioResult> results() {
        ScenarioResult direct = new ScenarioResult("direct", "client -> echo", ScenarioResult.Status.MEASURED, null,
                List.of(new RateResult(1000, load(1000, histogram(100 * US, 400 * US), 0, Map.of()), null, null)),
                new MaxResult(load(0, histogram(50 * US, 100 * US), 0, Map.of()), 1, null), null, List.of());
        ScenarioResult haproxy = new ScenarioResult("haproxy", "client -> HAProxy -> echo", ScenarioResult.Status.MEASURED, null,
                List.of(new RateResult(1000, load(1000, histogram(300 * US, 800 * US), 2, Map.of("HTTP 503", 2L)), 0.25, 20L << 20,
                        new LoopLag.Max(2_500_000, Instant.parse("2026-01-01T00:00:13.150Z")))),
                new MaxResult(load(0, histogram(80 * US, 200 * US), 0, Map.of()), 1, 0.5), 30L << 20, List.of("haproxy"));
        ScenarioResult sidecar = ScenarioResult.skipped("sidecar", "client -> sidecar -> echo",
                "sidecar jar not found: sidecar-proxy/target/trellis-sidecar.jar");
        return List.of(direct, sidecar, haproxy);
    }

    @Test
    void tableShowsPercentilesAddedLatencyAndProxyFigures() {
        String md = Report.markdown(run(), results());

        assertThat(md).contains("./trellis bench direct haproxy --duration 1s");
        assertThat(md).contains("| direct | 1000 | 1,000 | 0.100 | 0.100 | 0.100 | 0.400 | 0.400 | - | - | - | - | 0 |");
        // haproxy p50 300 us vs direct 100 us: +0.200 ms, 3x; p99 300 us vs 100 us (99% sits at the base value)
        assertThat(md).contains("| haproxy | 1000 | 1,000 | 0.300 | 0.300 | 0.300 | 0.800 | 0.800 | +0.200 (3.00x) | +0.200 (3.00x) | 0.250 | 20.0 | 2 |");
        // max throughput: 1000 requests in 1 s; 0.5 CPU s over 1000 requests = 0.5 s per 1000, 2000 per CPU-second
        assertThat(md).contains("| haproxy | 1,000 | 1.00x | 0.080 | 0.080 | 0.500 | 2,000 | 30.0 | 0 |");
        assertThat(md).contains("- **sidecar** skipped: sidecar jar not found: sidecar-proxy/target/trellis-sidecar.jar");
        assertThat(md).contains("- haproxy at 1000 rps: HTTP 503: 2");
        assertThat(md).contains("mesh vs haproxy-mtls").contains("not known from this run");
        assertThat(md).contains("![latency by percentile at 1000 rps](latency-1000rps.svg)");
        assertThat(md).contains("| CPU | Test CPU |").contains("| CPU placement | Pinned with taskset");
        assertThat(md).contains("coordinated-omission correction");
        // the slowest request of each row: its latency and when it was due, to find a stall in other logs
        assertThat(md).contains("direct at 1000 rps: 0.400 ms at 00:00:12.745; haproxy at 1000 rps: 0.800 ms at 00:00:13.145"
                + " (bench JVM loops lagged at most 2.500 ms, at 00:00:13.150).");
    }

    @Test
    void goalsCompareMeshWithHaproxyMtls() {
        ScenarioResult mesh = new ScenarioResult("mesh", "mesh", ScenarioResult.Status.MEASURED, null,
                List.of(new RateResult(1000, load(1000, histogram(200 * US, 900 * US), 0, Map.of()), 0.4, 100L << 20)),
                new MaxResult(load(0, histogram(100 * US, 200 * US), 0, Map.of()), 1, 0.2), 50L << 20, List.of("a", "b"));
        ScenarioResult peer = new ScenarioResult("haproxy-mtls", "haproxy-mtls", ScenarioResult.Status.MEASURED, null,
                List.of(new RateResult(1000, load(1000, histogram(250 * US, 700 * US), 0, Map.of()), 0.4, 40L << 20)),
                new MaxResult(load(0, histogram(100 * US, 200 * US), 0, Map.of()), 1, 0.4), 20L << 20, List.of("a", "b"));

        String goals = Report.goals(run(), List.of(mesh, peer));

        assertThat(goals).contains("p50 at 1000 rps: mesh 0.200 ms, haproxy-mtls 0.250 ms: met.");
        assertThat(goals).contains("p99 at 1000 rps: mesh 0.200 ms, haproxy-mtls 0.250 ms: met.");
        assertThat(goals).contains("mesh 5,000, haproxy-mtls 2,500: met.");
        // mesh RSS is two sidecars: 100 MiB / 2
        assertThat(goals).contains("sidecar RSS at 1000 rps: 50.0 MiB (goal: under 64 MiB): met.");
    }

    @Test
    void withRoundsTheGoalsTakeTheMedianOfTheRoundsRatios() {
        // p50 ratios mesh / haproxy-mtls per round: 0.8x, 1.2x, 1.1x; requests per CPU-second 1.25x, 0.8x, 1.0x
        long[][] p50 = {{200, 250}, {300, 250}, {220, 200}};
        double[][] cpu = {{0.2, 0.25}, {0.25, 0.2}, {0.2, 0.2}};
        List<ScenarioResult.Round> mesh = new java.util.ArrayList<>();
        List<ScenarioResult.Round> peer = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            mesh.add(new ScenarioResult.Round(List.of(new RateResult(1000, load(1000, histogram(p50[i][0] * US, 900 * US), 0,
                    Map.of()), 0.4, 100L << 20, null, 0.1)),
                    new MaxResult(load(0, histogram(100 * US, 200 * US), 0, Map.of()), 1, cpu[i][0], 0.0)));
            peer.add(new ScenarioResult.Round(List.of(new RateResult(1000, load(1000, histogram(p50[i][1] * US, 700 * US), 0,
                    Map.of()), 0.4, 40L << 20)), new MaxResult(load(0, histogram(100 * US, 200 * US), 0, Map.of()), 1, cpu[i][1])));
        }
        List<ScenarioResult> results = List.of(
                ScenarioResult.of("mesh", "mesh", ScenarioResult.Status.MEASURED, null, mesh, 50L << 20, List.of("a", "b")),
                ScenarioResult.of("haproxy-mtls", "haproxy-mtls", ScenarioResult.Status.MEASURED, null, peer, 20L << 20,
                        List.of("a", "b")));
        RunInfo run = run();
        RunInfo three = new RunInfo(run.command(), run.started(), run.finished(), run.protocol(), run.rates(), run.warmup(),
                run.duration(), run.maxDuration(), run.connections(), run.payloadBytes(), run.maxDepth(), 3, run.machine(),
                run.placement(), run.notes());

        ScenarioResult merged = results.get(0);
        assertThat(merged.at(1000).orElseThrow().load().corrected().getTotalCount()).isEqualTo(3000);
        assertThat(merged.at(1000).orElseThrow().proxyCpuSeconds()).isEqualTo(1.2, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(merged.max().load().measured()).isEqualTo(Duration.ofSeconds(3));

        String goals = Report.goals(three, results);
        assertThat(goals).contains("round by round 0.80x, 1.20x, 1.10x, median 1.10x: not met (met in 1 of 3 rounds)");
        assertThat(goals).contains("round by round 1.25x, 0.80x, 1.00x, median 1.00x: met (met in 2 of 3 rounds)");

        String md = Report.markdown(three, results);
        // JIT CPU of the JVM proxies summed over rounds; HAProxy and a phase without compiling are not listed
        assertThat(md).contains("JIT compiler threads' CPU within the proxies' CPU in the measured windows (all rounds): "
                + "mesh 0.30 of 1.20 s at 1000 rps.");
        assertThat(md).contains("## Rounds", "| scenario | figure | round 1 | round 2 | round 3 | median |",
                "| mesh | p50 ms at 1000 rps | 0.200 | 0.300 | 0.220 | 0.220 |",
                "| haproxy-mtls | requests per proxy CPU-second at max | 4,000 | 5,000 | 5,000 | 5,000 |");
    }

    @Test
    void aMeshThatCompletedNothingMeetsNoLatencyGoal() {
        ScenarioResult mesh = new ScenarioResult("mesh", "mesh", ScenarioResult.Status.MEASURED, null,
                List.of(new RateResult(1000, load(1000, Latencies.newHistogram(), 1000, Map.of("connect refused", 1000L)),
                        0.4, 100L << 20)), null, 50L << 20, List.of("a", "b"));
        ScenarioResult peer = new ScenarioResult("haproxy-mtls", "haproxy-mtls", ScenarioResult.Status.MEASURED, null,
                List.of(new RateResult(1000, load(1000, histogram(250 * US, 700 * US), 0, Map.of()), 0.4, 40L << 20)),
                null, 20L << 20, List.of("a", "b"));

        String goals = Report.goals(run(), List.of(mesh, peer));

        assertThat(goals).contains("- p50 and p99 at 1000 rps: not known from this run (mesh completed no request).")
                .doesNotContain("p50 at 1000 rps: mesh");
    }

    @Test
    void aRoundWhereTheMeshCompletedNothingHasNoRatio() {
        List<ScenarioResult.Round> mesh = new java.util.ArrayList<>();
        List<ScenarioResult.Round> peer = new java.util.ArrayList<>();
        long[] p50 = {200, 0, 220};
        for (int i = 0; i < 3; i++) {
            Histogram h = p50[i] == 0 ? Latencies.newHistogram() : histogram(p50[i] * US, 900 * US);
            mesh.add(new ScenarioResult.Round(List.of(new RateResult(1000, load(1000, h, 0, Map.of()), 0.4, 100L << 20)), null));
            peer.add(new ScenarioResult.Round(List.of(new RateResult(1000, load(1000, histogram(250 * US, 700 * US), 0,
                    Map.of()), 0.4, 40L << 20)), null));
        }
        RunInfo run = run();
        RunInfo three = new RunInfo(run.command(), run.started(), run.finished(), run.protocol(), run.rates(), run.warmup(),
                run.duration(), run.maxDuration(), run.connections(), run.payloadBytes(), run.maxDepth(), 3, run.machine(),
                run.placement(), run.notes());

        String goals = Report.goals(three, List.of(
                ScenarioResult.of("mesh", "mesh", ScenarioResult.Status.MEASURED, null, mesh, 50L << 20, List.of("a", "b")),
                ScenarioResult.of("haproxy-mtls", "haproxy-mtls", ScenarioResult.Status.MEASURED, null, peer, 20L << 20,
                        List.of("a", "b"))));

        assertThat(goals).contains("p50 at 1000 rps: mesh 0.220 ms, haproxy-mtls 0.250 ms; mesh / haproxy-mtls round by round"
                + " 0.80x, 0.88x, median 0.84x: met (met in 2 of 2 rounds)");
    }

    @Test
    void plotIsAnSvgWithOneLinePerScenarioAndALogPercentileAxis() throws Exception {
        Map<String, Histogram> series = new LinkedHashMap<>();
        series.put("direct", histogram(100 * US, 400 * US));
        series.put("haproxy", histogram(300 * US, 800 * US));
        String svg = LatencyPlot.svg("Latency at 1000 rps <http1>", series);

        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertThat(doc.getDocumentElement().getTagName()).isEqualTo("svg");
        assertThat(doc.getElementsByTagName("polyline").getLength()).isEqualTo(2);
        assertThat(svg).contains(">90%<", ">99%<", ">99.9%<", "&lt;http1&gt;", ">direct<", ">haproxy<", "log scale");
    }

    @Test
    void percentileLabelsAndTicks() {
        assertThat(LatencyPlot.percentileLabel(0)).isEqualTo("0%");
        assertThat(LatencyPlot.percentileLabel(1)).isEqualTo("90%");
        assertThat(LatencyPlot.percentileLabel(2)).isEqualTo("99%");
        assertThat(LatencyPlot.percentileLabel(4)).isEqualTo("99.99%");
        assertThat(LatencyPlot.label(0.05)).isEqualTo("0.05");
        assertThat(LatencyPlot.label(500)).isEqualTo("500");
    }

    @Test
    void writesReportPlotsAndHistograms(@TempDir Path dir) throws Exception {
        BenchRunner.write(dir, run(), results());

        assertThat(dir.resolve("report.md")).exists();
        assertThat(dir.resolve("latency-1000rps.svg")).exists();
        assertThat(Files.readString(dir.resolve("haproxy-1000rps.hgrm")))
                .contains("Value     Percentile TotalCount")
                .contains("#[Max     =        0.800");
        assertThat(dir.resolve("haproxy-1000rps-uncorrected.hgrm")).exists();
        assertThat(dir.resolve("direct-max.hgrm")).exists();
        assertThat(dir.resolve("sidecar-1000rps.hgrm")).doesNotExist();
    }
}
