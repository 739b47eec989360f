package dev.trellis.bench.jmh;

import dev.trellis.sidecar.cluster.Hashing;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.cluster.LoadBalancer;
import dev.trellis.sidecar.cluster.LoadBalancers;
import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.LbConfig;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One host pick per request, through the priority-level balancer a cluster uses, over
 * {@code hosts} healthy hosts with a few requests outstanding on each (least request and peak
 * EWMA read them); ring hash gets a different request hash every pick.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class LoadBalancerBenchmark {
    @Param({"ROUND_ROBIN", "LEAST_REQUEST", "PEAK_EWMA", "RING_HASH"})
    LbConfig.Policy policy;

    @Param({"10"})
    int hosts;

    private LoadBalancer lb;
    private long n;
    private final LoadBalancer.Context hashed = new LoadBalancer.Context() {
        @Override
        public OptionalLong hash() {
            return OptionalLong.of(Hashing.mix(n));
        }
    };

    @Setup
    public void setUp() {
        List<Host> list = new ArrayList<>();
        for (int i = 0; i < hosts; i++) {
            Host h = new Host(new InetSocketAddress("10.0.0." + (i + 1), 8080), "10.0.0." + (i + 1), 1, 0,
                    ClusterConfig.Health.HEALTHY);
            h.activeRequests().set(i % 4);
            list.add(h);
        }
        lb = LoadBalancers.create(LbConfig.of(policy), list);
    }

    @Benchmark
    public Host pick() {
        n++;
        return lb.choose(policy == LbConfig.Policy.RING_HASH ? hashed : LoadBalancer.Context.NONE);
    }
}
