package dev.trellis.bench.jmh;

import dev.trellis.sidecar.cluster.ResourceManager;
import dev.trellis.sidecar.config.CircuitBreakerConfig;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Circuit breaker bookkeeping per request: a request slot taken and given back, and a retry slot
 * under the default 20% retry budget (which reads the active requests). {@code contended} runs
 * the request slot on two threads sharing one cluster, as two event loops do.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CircuitBreakerBenchmark {
    private ResourceManager resources;

    @Setup
    public void setUp() {
        resources = new ResourceManager(CircuitBreakerConfig.DEFAULT);
    }

    @Benchmark
    public boolean requestAcquireRelease() {
        boolean ok = resources.tryAcquireRequest();
        if (ok) resources.requests().release();
        return ok;
    }

    @Benchmark
    public boolean retryAcquireRelease() {
        boolean ok = resources.tryAcquireRetry();
        if (ok) resources.retries().release();
        return ok;
    }

    @Benchmark
    @Threads(2)
    public boolean contended() {
        boolean ok = resources.tryAcquireRequest();
        if (ok) resources.requests().release();
        return ok;
    }
}
