package dev.trellis.bench.load;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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

    /**
     * Phases of the same rate as one: histograms, counts and measured time added up (so throughput
     * is the phases' mean), and the slowest request of the slowest phase.
     */
    public static LoadResult merge(List<LoadResult> phases) {
        LoadResult first = phases.get(0);
        Histogram corrected = first.corrected.copy();
        Histogram uncorrected = first.uncorrected.copy();
        long ok = first.ok;
        long errors = first.errors;
        Map<String, Long> kinds = new TreeMap<>(first.errorKinds);
        Duration measured = first.measured;
        LoadResult slowest = first;
        for (LoadResult p : phases.subList(1, phases.size())) {
            corrected.add(p.corrected);
            uncorrected.add(p.uncorrected);
            ok += p.ok;
            errors += p.errors;
            p.errorKinds.forEach((k, v) -> kinds.merge(k, v, Long::sum));
            measured = measured.plus(p.measured);
            if (p.corrected.getMaxValue() > slowest.corrected.getMaxValue()) {
                slowest = p;
            }
        }
        return new LoadResult(first.rate, corrected, uncorrected, ok, errors, kinds, measured, slowest.slowestAt);
    }

    /** Every request of the measured window, failed or not. */
    public long requests() {
        return ok + errors;
    }
}
