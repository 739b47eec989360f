package dev.trellis.sidecar.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.ClusterConfig.Health;
import dev.trellis.sidecar.config.HealthCheckConfig;
import dev.trellis.sidecar.config.LbConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HealthCheckerTest {
    static HealthCheckConfig cfg(Duration jitter, int jitterPercent) {
        return new HealthCheckConfig(HealthCheckConfig.Kind.HTTP, Duration.ofSeconds(10), Duration.ofSeconds(1), 3, 2,
                jitter, jitterPercent, Duration.ZERO, "/healthz", Optional.empty(),
                List.of(new HealthCheckConfig.StatusRange(200, 201)), "", false);
    }

    final Host host = new Host(new InetSocketAddress("127.0.0.1", 1), "h", 1, 0, Health.HEALTHY);
    final Cluster cluster = ClusterManagerAccess.cluster(LbConfig.ROUND_ROBIN, List.of(host));

    @Test
    void firstResultDecidesThenThresholdsFlipTheState() {
        HealthChecker hc = new HealthChecker(cluster, cfg(Duration.ZERO, 0), null, b -> 0);
        HealthChecker.State s = new HealthChecker.State();
        host.failedActiveHealthCheck(hc, true);
        hc.record(host, s, true);
        assertThat(host.healthy()).as("a new host passes with its first success").isTrue();
        hc.record(host, s, false);
        hc.record(host, s, false);
        assertThat(host.healthy()).isTrue();
        hc.record(host, s, false);
        assertThat(host.healthy()).as("three failures in a row").isFalse();
        assertThat(host.failedActiveHealthCheck()).isTrue();
        hc.record(host, s, true);
        assertThat(host.healthy()).isFalse();
        hc.record(host, s, false);
        hc.record(host, s, true);
        assertThat(host.healthy()).as("successes must be consecutive").isFalse();
        hc.record(host, s, true);
        assertThat(host.healthy()).isTrue();
    }

    @Test
    void aNewHostFailingItsFirstCheckStaysFailing() {
        HealthChecker hc = new HealthChecker(cluster, cfg(Duration.ZERO, 0), null, b -> 0);
        host.failedActiveHealthCheck(hc, true);
        hc.record(host, new HealthChecker.State(), false);
        assertThat(host.healthy()).isFalse();
    }

    @Test
    void aHostMustPassEveryCheckEachWithItsOwnThresholds() {
        HealthChecker http = new HealthChecker(cluster, cfg(Duration.ZERO, 0), null, b -> 0);
        HealthChecker tcp = new HealthChecker(cluster, new HealthCheckConfig(HealthCheckConfig.Kind.TCP, Duration.ofSeconds(1),
                Duration.ofSeconds(1), 1, 1, Duration.ZERO, 0, Duration.ZERO, "", Optional.empty(), List.of(), "", false),
                null, b -> 0);
        HealthChecker.State hs = new HealthChecker.State();
        HealthChecker.State ts = new HealthChecker.State();
        host.failedActiveHealthCheck(http, true);
        host.failedActiveHealthCheck(tcp, true);
        http.record(host, hs, true);
        assertThat(host.healthy()).as("the TCP check has not passed yet").isFalse();
        tcp.record(host, ts, true);
        assertThat(host.healthy()).isTrue();
        tcp.record(host, ts, false);
        assertThat(host.healthy()).as("the TCP check's threshold is 1").isFalse();
        assertThat(host.failedActiveHealthCheck()).isTrue();
        http.record(host, hs, false);
        http.record(host, hs, false);
        http.record(host, hs, false);
        tcp.record(host, ts, true);
        assertThat(host.healthy()).as("the HTTP check failed three times in a row").isFalse();
        http.record(host, hs, true);
        http.record(host, hs, true);
        assertThat(host.healthy()).isTrue();
    }

    @Test
    void aHostThatJoinsFailsTheCheckUntilItPasses() {
        HealthChecker hc = new HealthChecker(cluster, cfg(Duration.ZERO, 0), null, b -> 0);
        Host joined = new Host(new InetSocketAddress("127.0.0.1", 2), "h", 1, 0, Health.HEALTHY);
        assertThat(joined.healthy()).isTrue();
        hc.track(List.of(host, joined));
        assertThat(joined.healthy()).isFalse();
        assertThat(joined.failedActiveHealthCheck()).isTrue();
    }

    @Test
    void passingChecksDoNotOverrideAnUnhealthyOrDrainingEdsStatus() {
        for (Health eds : new Health[] {Health.UNHEALTHY, Health.DRAINING}) {
            Host h = new Host(new InetSocketAddress("127.0.0.1", 3), "h", 1, 0, eds);
            HealthChecker hc = new HealthChecker(cluster, cfg(Duration.ZERO, 0), null, b -> 0);
            hc.track(List.of(h));
            hc.record(h, new HealthChecker.State(), true);
            assertThat(h.failedActiveHealthCheck()).isFalse();
            assertThat(h.healthy()).as("EDS says %s", eds).isFalse();
        }
        Host degraded = new Host(new InetSocketAddress("127.0.0.1", 4), "h", 1, 0, Health.DEGRADED);
        HealthChecker hc = new HealthChecker(cluster, cfg(Duration.ZERO, 0), null, b -> 0);
        hc.track(List.of(degraded));
        assertThat(degraded.healthy()).isFalse();
        hc.record(degraded, new HealthChecker.State(), true);
        assertThat(degraded.healthy()).isTrue();
    }

    @Test
    void roundsWaitTheIntervalPlusBothJitters() {
        assertThat(new HealthChecker(cluster, cfg(Duration.ZERO, 0), null, b -> b - 1).nextDelayNanos())
                .isEqualTo(Duration.ofSeconds(10).toNanos());
        HealthChecker max = new HealthChecker(cluster, cfg(Duration.ofSeconds(1), 20), null, b -> b - 1);
        assertThat(max.nextDelayNanos()).isEqualTo(Duration.ofSeconds(13).toNanos() - 2);
        HealthChecker min = new HealthChecker(cluster, cfg(Duration.ofSeconds(1), 20), null, b -> 0);
        assertThat(min.nextDelayNanos()).isEqualTo(Duration.ofSeconds(10).toNanos());
    }
}
