package dev.trellis.bench.jmh;

import dev.trellis.bench.load.Exchange;
import dev.trellis.bench.load.OpenLoopDriver;
import dev.trellis.bench.load.Progress;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The open-loop scheduler's own cost per request (queueing by intended time, dispatch, recording
 * both histograms), with an exchange that answers at once and a simulated clock.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class OpenLoopDriverBenchmark {
    private static final int REQUESTS = 10_000;

    private long now;

    private final Exchange instant = new Exchange() {
        @Override
        public void send(Completion done) {
            now += 50_000; // each request "takes" 50 us of simulated time
            done.complete(null);
        }

        @Override
        public Executor executor() {
            return Runnable::run;
        }

        @Override
        public int maxConcurrency() {
            return 1;
        }

        @Override
        public void close() {}
    };

    @Benchmark
    @OperationsPerInvocation(REQUESTS)
    public long tenThousandRequests() {
        now = 0;
        Runnable[] pending = new Runnable[1];
        // 10k requests at 10k rps over one simulated second; ticks run as the clock reaches them
        OpenLoopDriver d = new OpenLoopDriver(instant, () -> now, (task, delay) -> pending[0] = task, Progress.none(),
                10_000, 0, 1, 0, 0, 1_000_000_000L);
        d.start();
        while (!d.done().isDone()) {
            now += 100_000;
            Runnable t = pending[0];
            pending[0] = null;
            if (t != null) {
                t.run();
            }
        }
        return d.plannedRequests();
    }
}
