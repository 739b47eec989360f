package dev.trellis.bench.cp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cp-scale at a tiny size against a real control plane in a child JVM: a smoke test of the whole run. */
class CpScaleTest {

    @Test
    void smallRunMeasuresSyncAndScopedPushes(@TempDir Path out) throws Exception {
        CpScaleSettings s = new CpScaleSettings(6, 12, 3, 42, 4, Duration.ofSeconds(60), Duration.ofSeconds(30),
                Duration.ofMillis(300), out, Path.of(System.getProperty("java.home"), "bin", "java"),
                List.of("-Xmx256m", "-XX:TieredStopAtLevel=1"), 1, "./trellis bench cp-scale --services 6 --proxies 12");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        CpScaleResult r = new CpScaleRunner(s, new PrintStream(console, true, StandardCharsets.UTF_8), System.err).run();

        assertThat(r.proxyFailures()).isZero();
        assertThat(r.syncPerProxy()).hasSize(12).allSatisfy(n -> assertThat(n).isPositive());
        assertThat(r.cpProxies()).isEqualTo(12);
        assertThat(r.heapAfterSync()).isPositive();
        assertThat(r.changes()).hasSize(2);
        CpScaleResult.Change hot = r.changes().get(0);
        assertThat(hot.service()).isEqualTo("svc-0000");
        assertThat(hot.callers()).isEqualTo(12);
        assertThat(hot.toAck()).hasSize(12).allSatisfy(n -> assertThat(n).isPositive());
        CpScaleResult.Change cold = r.changes().get(1);
        assertThat(cold.callers()).isBetween(1, 11);
        assertThat(cold.toAck()).hasSize(cold.callers());
        // issue 5: a change is pushed only to the proxies it affects
        assertThat(cold.pushedOthers()).isZero();
        assertThat(hot.pushedOthers()).isZero();

        String report = Files.readString(out.resolve("report.md"));
        assertThat(report).contains("# Trellis control-plane scale benchmark", "./trellis bench cp-scale --services 6 --proxies 12",
                "first full sync of all proxies", "| 1 | every proxy calls it | svc-0000 | 12 |", "## Machine");
        assertThat(console.toString(StandardCharsets.UTF_8)).contains("Report: " + out.resolve("report.md"));
        assertThat(out.resolve("control-plane.log")).exists();
    }

    @Test
    void topologyScopesUpstreams() {
        Topology t = Topology.of(1000, 2000, 4, 42);
        assertThat(t.proxies()).hasSize(2000);
        assertThat(t.instancesByService()).hasSize(1000).allSatisfy((k, v) -> assertThat(v).isEqualTo(2));
        for (Topology.Proxy p : t.proxies()) {
            assertThat(p.upstreams()).hasSize(4).startsWith("svc-0000").doesNotHaveDuplicates();
            assertThat(p.upstreams().subList(1, 4)).doesNotContain(p.service());
        }
        assertThat(t.callersOf("svc-0000")).hasSize(2000);
        String cold = t.busiestColdService().orElseThrow();
        assertThat(t.callersOf(cold).size()).isBetween(2, 100);
        assertThat(Topology.of(2, 3, 5, 1).proxies()).allSatisfy(p -> assertThat(p.upstreams()).hasSizeLessThanOrEqualTo(2));
    }
}
