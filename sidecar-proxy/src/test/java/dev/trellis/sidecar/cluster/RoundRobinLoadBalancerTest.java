package dev.trellis.sidecar.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.ClusterConfig;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoundRobinLoadBalancerTest {
    static Host host(int port, int weight, int priority, ClusterConfig.Health health) {
        return new Host(new InetSocketAddress("127.0.0.1", port), "127.0.0.1", weight, priority, health);
    }

    @Test
    void weightsAreSpreadSmoothly() {
        Host a = host(1, 3, 0, ClusterConfig.Health.UNKNOWN);
        Host b = host(2, 1, 0, ClusterConfig.Health.HEALTHY);
        LoadBalancer lb = LoadBalancers.create("ROUND_ROBIN", List.of(a, b));
        List<Integer> seq = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            seq.add(lb.choose(LoadBalancer.Context.NONE).address().getPort());
        }
        assertThat(seq).containsExactly(1, 1, 2, 1, 1, 1, 2, 1);
    }

    @Test
    void lowerPriorityOnlyWhenTheHigherHasNoHealthyHost() {
        Host p0 = host(1, 1, 0, ClusterConfig.Health.UNHEALTHY);
        Host p1 = host(2, 1, 1, ClusterConfig.Health.HEALTHY);
        assertThat(LoadBalancers.create("ROUND_ROBIN", List.of(p0, p1)).choose(LoadBalancer.Context.NONE)).isSameAs(p1);
        Host ok = host(3, 1, 0, ClusterConfig.Health.HEALTHY);
        assertThat(LoadBalancers.create("ROUND_ROBIN", List.of(p1, ok)).choose(LoadBalancer.Context.NONE)).isSameAs(ok);
        // no healthy host at all: panic mode tries the unhealthy one, unless the panic threshold is 0
        assertThat(LoadBalancers.create("ROUND_ROBIN", List.of(p0)).choose(LoadBalancer.Context.NONE)).isSameAs(p0);
        assertThat(LoadBalancers.create(dev.trellis.sidecar.config.LbConfig.ROUND_ROBIN.withPanicThreshold(0), List.of(p0))
                .choose(LoadBalancer.Context.NONE)).isNull();
        assertThat(LoadBalancers.create("ROUND_ROBIN", List.of()).choose(LoadBalancer.Context.NONE)).isNull();
    }
}
