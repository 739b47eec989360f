package dev.trellis.bench.jmh;

import dev.trellis.bench.load.Latencies;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Cost of recording one latency, which the generator pays twice per request (corrected and uncorrected). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HistogramBenchmark {
    private final Histogram histogram = Latencies.newHistogram();
    private final long[] values = new long[4096];
    private int i;

    @Setup
    public void setUp() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int k = 0; k < values.length; k++) {
            // mostly 50 us .. 2 ms, with a tail up to 200 ms
            values[k] = k % 100 == 0 ? r.nextLong(2_000_000, 200_000_000) : r.nextLong(50_000, 2_000_000);
        }
    }

    @Benchmark
    public void record() {
        Latencies.record(histogram, values[i++ & (values.length - 1)]);
    }
}
