package dev.trellis.bench.load;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one measured phase gave: latency histograms in nanoseconds, counts, and the phase's wall time.
 *
 * @param rate        the intended rate (requests per second), or 0 for a closed-loop run
 * @param corrected   latency from each request's intended send time (closed loop: from its send)
 * @param uncorrected latency from each request's actual send time
 * @param slowestAt   wall-clock time the slowest successful request was intended to be sent (null if none
 *                    succeeded), to line a stall up with proxy logs, GC logs or counters taken meanwhile
 */
public record LoadResult(int rate, Histogram corrected, Histogram uncorrected, long ok, long errors,
                         Map<String, Long> errorKinds, Duration measured, Instant slowestAt) {

    /** Completed requests per second over the measured window. */
    public double throughput() {
        double s = measured.toNanos() / 1e9;
        return s <= 0 ? 0 : ok / s;
    }

    /** Every request of the measured window, failed or not. */
    public long requests() {
        return ok + errors;
    }
}
