package dev.trellis.bench.load;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one connection (or, once merged, a whole run) observed in the measured window. Single-threaded
 * while recording; merged after the run.
 */
public final class PhaseStats {
    /** Latency from each request's intended send time (coordinated-omission corrected). */
    final Histogram corrected = Latencies.newHistogram();
    /** Latency from the moment the request was actually written. */
    final Histogram uncorrected = Latencies.newHistogram();
    long ok;
    long errors;
    /** Corrected latency of the slowest request, and its intended send time (ticker nanos). */
    long slowestNanos = -1;
    long slowestIntended;
    final Map<String, Long> errorKinds = new TreeMap<>();

    void success(long intended, long correctedNanos, long uncorrectedNanos) {
        ok++;
        if (correctedNanos > slowestNanos) {
            slowestNanos = correctedNanos;
            slowestIntended = intended;
        }
        Latencies.record(corrected, correctedNanos);
        Latencies.record(uncorrected, uncorrectedNanos);
    }

    void error(String kind, long count) {
        errors += count;
        errorKinds.merge(kind, count, Long::sum);
    }

    void add(PhaseStats other) {
        corrected.add(other.corrected);
        uncorrected.add(other.uncorrected);
        ok += other.ok;
        if (other.slowestNanos > slowestNanos) {
            slowestNanos = other.slowestNanos;
            slowestIntended = other.slowestIntended;
        }
        errors += other.errors;
        other.errorKinds.forEach((k, v) -> errorKinds.merge(k, v, Long::sum));
    }
}
