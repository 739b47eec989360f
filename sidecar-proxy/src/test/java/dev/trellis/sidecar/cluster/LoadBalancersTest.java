package dev.trellis.sidecar.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.ClusterConfig.Health;
import dev.trellis.sidecar.config.LbConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoadBalancersTest {
    static Host host(int port, int weight, int priority, Health health) {
        return new Host(new InetSocketAddress("127.0.0.1", port), "127.0.0.1", weight, priority, health);
    }

    static List<Host> hosts(int n, int priority, int healthy, int firstPort) {
        List<Host> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(host(firstPort + i, 1, priority, i < healthy ? Health.HEALTHY : Health.UNHEALTHY));
        }
        return out;
    }

    static Map<Host, Integer> count(LoadBalancer lb, int n, LoadBalancer.Context ctx) {
        Map<Host, Integer> m = new HashMap<>();
        for (int i = 0; i < n; i++) {
            m.merge(lb.choose(ctx), 1, Integer::sum);
        }
        return m;
    }

    static LoadBalancer.Context hashed(long h) {
        return new LoadBalancer.Context() {
            @Override public OptionalLong hash() { return OptionalLong.of(h); }
        };
    }

    @Test
    void priorityLoadFollowsOverprovisionedHealth() {
        List<Host> all = new ArrayList<>(hosts(10, 0, 5, 1000));
        all.addAll(hosts(2, 1, 2, 2000));
        var lb = (LoadBalancers.PriorityLoadBalancer) LoadBalancers.create(LbConfig.ROUND_ROBIN, all);
        // 5 of 10 healthy: 1.4 x 50% = 70% stays on P0, the rest spills to P1
        assertThat(lb.loads()[0]).isCloseTo(70, org.assertj.core.data.Offset.offset(0.01));
        assertThat(lb.loads()[1]).isCloseTo(30, org.assertj.core.data.Offset.offset(0.01));
        Map<Host, Integer> m = count(lb, 10_000, LoadBalancer.Context.NONE);
        int p1 = m.entrySet().stream().filter(e -> e.getKey().priority() == 1).mapToInt(Map.Entry::getValue).sum();
        assertThat(p1).isBetween(2700, 3300);
        assertThat(m.keySet()).allMatch(Host::healthy);
    }

    @Test
    void eightOfTenHealthyKeepsAllTrafficOnPriorityZero() {
        List<Host> all = new ArrayList<>(hosts(10, 0, 8, 1000));
        all.addAll(hosts(2, 1, 2, 2000));
        var lb = (LoadBalancers.PriorityLoadBalancer) LoadBalancers.create(LbConfig.ROUND_ROBIN, all);
        assertThat(lb.loads()).containsExactly(100, 0);
    }

    @Test
    void panicBelowThresholdSpreadsOverAllHostsOfTheLevel() {
        List<Host> all = hosts(4, 0, 1, 1000);
        Map<Host, Integer> m = count(LoadBalancers.create(LbConfig.ROUND_ROBIN, all), 400, LoadBalancer.Context.NONE);
        assertThat(m).hasSize(4).allSatisfy((h, n) -> assertThat(n).isEqualTo(100));
        // at 50% healthy there is no panic
        Map<Host, Integer> half = count(LoadBalancers.create(LbConfig.ROUND_ROBIN, hosts(4, 0, 2, 1000)), 400,
                LoadBalancer.Context.NONE);
        assertThat(half.keySet()).hasSize(2).allMatch(Host::healthy);
    }

    @Test
    void panicThresholdZeroMeansNoHostWhenNoneIsHealthy() {
        LbConfig noPanic = LbConfig.ROUND_ROBIN.withPanicThreshold(0);
        assertThat(LoadBalancers.create(noPanic, hosts(2, 0, 0, 1000)).choose(LoadBalancer.Context.NONE)).isNull();
        assertThat(LoadBalancers.create(LbConfig.ROUND_ROBIN, hosts(2, 0, 0, 1000)).choose(LoadBalancer.Context.NONE)).isNotNull();
        assertThat(LoadBalancers.create(LbConfig.ROUND_ROBIN, List.of()).choose(LoadBalancer.Context.NONE)).isNull();
    }

    @Test
    void leastRequestPrefersTheLessBusyHost() {
        Host busy = host(1, 1, 0, Health.HEALTHY);
        Host idle = host(2, 1, 0, Health.HEALTHY);
        busy.activeRequests().set(5);
        Map<Host, Integer> m = count(LoadBalancers.create("LEAST_REQUEST", List.of(busy, idle)), 4000, LoadBalancer.Context.NONE);
        // two samples with replacement: the busy host wins only when drawn twice (25%)
        assertThat(m.get(idle)).isBetween(2800, 3200);
    }

    @Test
    void leastRequestWithWeightsDividesByActiveRequests() {
        Host heavy = host(1, 4, 0, Health.HEALTHY);
        Host light = host(2, 1, 0, Health.HEALTHY);
        heavy.activeRequests().set(3);
        // effective weights 4/4 and 1/1: even
        Map<Host, Integer> m = count(LoadBalancers.create("LEAST_REQUEST", List.of(heavy, light)), 10_000, LoadBalancer.Context.NONE);
        assertThat(m.get(heavy)).isBetween(4500, 5500);
        LbConfig noBias = new LbConfig(LbConfig.Policy.LEAST_REQUEST, 2, 0.0, 1024, 1024, 50,
                Duration.ofSeconds(10), Duration.ofMillis(30));
        Map<Host, Integer> plain = count(LoadBalancers.create(noBias, List.of(heavy, light)), 10_000, LoadBalancer.Context.NONE);
        assertThat(plain.get(heavy)).isBetween(7500, 8500);
    }

    @Test
    void randomFollowsWeights() {
        Host a = host(1, 3, 0, Health.HEALTHY);
        Host b = host(2, 1, 0, Health.HEALTHY);
        Map<Host, Integer> m = count(LoadBalancers.create("RANDOM", List.of(a, b)), 10_000, LoadBalancer.Context.NONE);
        assertThat(m.get(a)).isBetween(7200, 7800);
    }

    @Test
    void ringHashIsStickyAndMovesAboutOneNthOfKeysWhenAHostJoins() {
        List<Host> three = hosts(3, 0, 3, 1000);
        LoadBalancer before = LoadBalancers.create("RING_HASH", three);
        List<Host> four = new ArrayList<>(three);
        four.add(host(1003, 1, 0, Health.HEALTHY));
        LoadBalancer after = LoadBalancers.create("RING_HASH", four);
        int moved = 0;
        int movedToNew = 0;
        int keys = 10_000;
        Map<Host, Integer> spread = new HashMap<>();
        for (int k = 0; k < keys; k++) {
            long h = Hashing.hash64("user-" + k);
            Host first = before.choose(hashed(h));
            assertThat(before.choose(hashed(h))).isSameAs(first);
            Host now = after.choose(hashed(h));
            spread.merge(now, 1, Integer::sum);
            if (now != first) {
                moved++;
                movedToNew += now.address().getPort() == 1003 ? 1 : 0;
            }
        }
        // ~1/N of the keys move, all of them to the new host
        assertThat(moved).isBetween(keys / 4 - keys / 20, keys / 4 + keys / 20);
        assertThat(movedToNew).isEqualTo(moved);
        assertThat(spread.values()).allSatisfy(n -> assertThat(n).isBetween(keys / 4 - keys / 16, keys / 4 + keys / 16));
    }

    @Test
    void ringSizeStaysWithinItsBounds() {
        List<Host> hs = List.of(host(1, 1, 0, Health.HEALTHY), host(2, 3, 0, Health.HEALTHY));
        // the lightest host gets minimum_ring_size points, the others in proportion
        assertThat(new RingHashLoadBalancer(hs, 1024, 8 << 20).size()).isEqualTo(4096);
        assertThat(new RingHashLoadBalancer(hs, 16, 40).size()).isEqualTo(40);
        assertThat(new RingHashLoadBalancer(hs, 16, 16).size()).isEqualTo(16);
    }

    @Test
    void hostSelectionRetryAvoidsPreviousHostsOnTheRing() {
        Host a = host(1, 1, 0, Health.HEALTHY);
        Host b = host(2, 1, 0, Health.HEALTHY);
        dev.trellis.sidecar.cluster.Cluster c = ClusterManagerAccess.cluster(LbConfig.of(LbConfig.Policy.RING_HASH), List.of(a, b));
        long h = Hashing.hash64("k");
        Host first = c.choose(hashed(h));
        Host second = c.choose(new LoadBalancer.Context() {
            @Override public OptionalLong hash() { return OptionalLong.of(h); }
            @Override public boolean shouldAvoid(Host host) { return host == first; }
            @Override public int hostSelectionRetryMaxAttempts() { return 5; }
        });
        assertThat(second).isNotSameAs(first);
    }

    @Test
    void peakEwmaAvoidsTheSlowHost() {
        AtomicLong now = new AtomicLong();
        PeakEwma fastEwma = new PeakEwma(now::get, Duration.ofSeconds(10), Duration.ofMillis(30));
        PeakEwma slowEwma = new PeakEwma(now::get, Duration.ofSeconds(10), Duration.ofMillis(30));
        Host fast = new Host(new InetSocketAddress("127.0.0.1", 1), "h", 1, 0, Health.HEALTHY, fastEwma);
        Host fast2 = new Host(new InetSocketAddress("127.0.0.1", 2), "h", 1, 0, Health.HEALTHY,
                new PeakEwma(now::get, Duration.ofSeconds(10), Duration.ofMillis(30)));
        Host slow = new Host(new InetSocketAddress("127.0.0.1", 3), "h", 1, 0, Health.HEALTHY, slowEwma);
        fastEwma.observe(5_000_000);
        fast2.ewma().observe(5_000_000);
        slowEwma.observe(100_000_000);
        Map<Host, Integer> m = count(LoadBalancers.create("PEAK_EWMA", List.of(fast, fast2, slow)), 3000, LoadBalancer.Context.NONE);
        assertThat(m.get(slow)).isNull();
        // outstanding requests raise the cost: 30 in flight on a 5 ms host costs more than an idle 100 ms one
        fast.activeRequests().set(30);
        fast2.activeRequests().set(30);
        assertThat(count(LoadBalancers.create("PEAK_EWMA", List.of(fast, fast2, slow)), 3000, LoadBalancer.Context.NONE).get(slow))
                .isGreaterThan(1500);
    }
}
