package dev.trellis.sidecar.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.ClusterConfig.Health;
import dev.trellis.sidecar.config.OutlierDetectionConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class OutlierDetectorTest {
    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final List<Host> hosts = new ArrayList<>();

    Host host(int port) {
        Host h = new Host(new InetSocketAddress("127.0.0.1", port), "h", 1, 0, Health.HEALTHY);
        hosts.add(h);
        return h;
    }

    static OutlierDetectionConfig cfg(int maxEjectionPercent, boolean split, int enforcingGateway, int fpEnforcing) {
        OutlierDetectionConfig d = OutlierDetectionConfig.DEFAULT;
        return new OutlierDetectionConfig(5, 3, 4, 100, enforcingGateway, 100, split,
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(100), maxEjectionPercent,
                5, 100, 1.9, 100, 100, 50, 5, 20, fpEnforcing, 0);
    }

    OutlierDetector detector(OutlierDetectionConfig c) {
        return new OutlierDetector(c, now::get, () -> 0, () -> hosts);
    }

    void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void consecutive5xxEjectsAndTheHostReturnsAfterBaseEjectionTimeTimesEjections() {
        Host bad = host(1);
        host(2);
        OutlierDetector od = detector(cfg(100, false, 0, 0));
        for (int i = 0; i < 4; i++) {
            od.onResponse(bad, 503);
        }
        od.onResponse(bad, 200);
        for (int i = 0; i < 4; i++) {
            od.onResponse(bad, 500);
        }
        assertThat(bad.healthy()).as("a success resets the count").isTrue();
        od.onResponse(bad, 500);
        assertThat(bad.ejectedFor()).isEqualTo(OutlierDetector.CONSECUTIVE_5XX);
        assertThat(bad.healthy()).isFalse();
        advance(Duration.ofSeconds(29));
        od.onInterval();
        assertThat(bad.healthy()).isFalse();
        advance(Duration.ofSeconds(1));
        od.onInterval();
        assertThat(bad.healthy()).isTrue();
        // the second ejection (within the decay) lasts twice as long
        for (int i = 0; i < 5; i++) {
            od.onResponse(bad, 502);
        }
        assertThat(od.ejections(bad)).isEqualTo(2);
        advance(Duration.ofSeconds(59));
        od.onInterval();
        assertThat(bad.healthy()).isFalse();
        advance(Duration.ofSeconds(1));
        od.onInterval();
        assertThat(bad.healthy()).isTrue();
        // capped by max_ejection_time (100s) however often it was ejected
        for (int round = 0; round < 4; round++) {
            for (int i = 0; i < 5; i++) {
                od.onResponse(bad, 500);
            }
            advance(Duration.ofSeconds(100));
            od.onInterval();
            assertThat(bad.healthy()).isTrue();
        }
        assertThat(od.ejections(bad)).isEqualTo(6);
        // intervals without ejection decay the multiplier
        for (int i = 0; i < 6; i++) {
            od.onInterval();
        }
        assertThat(od.ejections(bad)).isZero();
    }

    @Test
    void maxEjectionPercentLeavesTheRestAloneButAlwaysAllowsOne() {
        Host a = host(1);
        Host b = host(2);
        OutlierDetector od = detector(cfg(10, false, 0, 0));
        for (int i = 0; i < 5; i++) {
            od.onResponse(a, 500);
            od.onResponse(b, 500);
        }
        assertThat(a.ejectedFor()).isNotNull();
        assertThat(b.ejectedFor()).isNull();
    }

    @Test
    void gatewayFailuresEjectOnlyWhenEnforced() {
        Host a = host(1);
        host(2);
        OutlierDetector off = detector(cfg(100, false, 0, 0));
        for (int i = 0; i < 3; i++) {
            off.onResponse(a, 504);
        }
        assertThat(a.ejectedFor()).isNull();
        OutlierDetector on = detector(cfg(100, false, 100, 0));
        for (int i = 0; i < 3; i++) {
            on.onResponse(a, 502);
        }
        assertThat(a.ejectedFor()).isEqualTo(OutlierDetector.CONSECUTIVE_GATEWAY_FAILURE);
    }

    @Test
    void localOriginFailuresCountApartWhenSplit() {
        Host a = host(1);
        host(2);
        OutlierDetector split = detector(cfg(100, true, 0, 0));
        for (int i = 0; i < 3; i++) {
            split.onLocalFailure(a, Cluster.LocalFailure.CONNECT_FAILED);
        }
        split.onLocalSuccess(a);
        for (int i = 0; i < 3; i++) {
            split.onLocalFailure(a, Cluster.LocalFailure.RESET);
            split.onResponse(a, 500);
        }
        assertThat(a.ejectedFor()).isNull();
        split.onLocalFailure(a, Cluster.LocalFailure.TIMEOUT);
        assertThat(a.ejectedFor()).isEqualTo(OutlierDetector.CONSECUTIVE_LOCAL_ORIGIN_FAILURE);
        Host b = host(3);
        OutlierDetector joined = detector(cfg(100, false, 0, 0));
        for (int i = 0; i < 5; i++) {
            joined.onLocalFailure(b, Cluster.LocalFailure.CONNECT_FAILED);
        }
        assertThat(b.ejectedFor()).isEqualTo(OutlierDetector.CONSECUTIVE_5XX);
    }

    @Test
    void successRateEjectsTheHostFarBelowTheMean() {
        List<Host> hs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            hs.add(host(i + 1));
        }
        OutlierDetector od = detector(cfg(100, false, 0, 0));
        for (int r = 0; r < 100; r++) {
            for (int i = 0; i < 6; i++) {
                // host 0 fails every other request, never five in a row
                od.onResponse(hs.get(i), i == 0 && r % 2 == 0 ? 500 : 200);
            }
        }
        assertThat(hs.get(0).ejectedFor()).isNull();
        od.onInterval();
        assertThat(hs.get(0).ejectedFor()).isEqualTo(OutlierDetector.SUCCESS_RATE);
        assertThat(hs.subList(1, 6)).allMatch(Host::healthy);
    }

    @Test
    void failurePercentageEjectsWhenEnforced() {
        List<Host> hs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            hs.add(host(i + 1));
        }
        OutlierDetector od = detector(cfg(100, false, 0, 100));
        for (int r = 0; r < 20; r++) {
            for (int i = 0; i < 5; i++) {
                od.onResponse(hs.get(i), i < 2 && r % 3 != 0 ? 500 : 200);
            }
        }
        od.onInterval();
        assertThat(hs.get(0).ejectedFor()).isEqualTo(OutlierDetector.FAILURE_PERCENTAGE);
        assertThat(hs.get(1).ejectedFor()).isEqualTo(OutlierDetector.FAILURE_PERCENTAGE);
        assertThat(hs.get(2).healthy()).isTrue();
    }
}
