package dev.trellis.bench.load;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/** Histogram conventions shared by the generator and the report: nanoseconds, 3 significant digits, up to 5 minutes. */
public final class Latencies {
    /** Values above this are recorded as this. */
    public static final long HIGHEST_NANOS = TimeUnit.MINUTES.toNanos(5);

    private Latencies() {}

    public static Histogram newHistogram() {
        return new Histogram(1, HIGHEST_NANOS, 3);
    }

    /** Records {@code nanos}, clamped to the histogram's range. */
    public static void record(Histogram h, long nanos) {
        h.recordValue(Math.max(1, Math.min(HIGHEST_NANOS, nanos)));
    }

    /** Milliseconds with microsecond precision, as the report prints them. */
    public static double millis(long nanos) {
        return nanos / 1_000_000.0;
    }
}
