package dev.trellis.sidecar.cluster;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A host's peak-EWMA latency estimate, as Linkerd (tower's {@code PeakEwma}) keeps it: a
 * response slower than the estimate replaces it at once (the peak), a faster one pulls it down
 * with weight {@code 1 - exp(-elapsed / decay)}, and with no responses the estimate decays towards
 * zero so an idle host gets tried again.
 */
public final class PeakEwma {
    private final LongSupplier ticker;
    private final double decayNanos;
    private double estimateNanos;
    private long stampNanos;

    public PeakEwma(LongSupplier ticker, Duration decay, Duration defaultRtt) {
        this.ticker = ticker;
        this.decayNanos = decay.toNanos();
        this.estimateNanos = defaultRtt.toNanos();
        this.stampNanos = ticker.getAsLong();
    }

    /** Records one response latency. */
    public synchronized void observe(long rttNanos) {
        update(rttNanos);
    }

    /** The estimate now, in nanoseconds: an observation of zero, so it decays with time. */
    public synchronized double estimateNanos() {
        return update(0);
    }

    private double update(long rttNanos) {
        long now = ticker.getAsLong();
        if (estimateNanos < rttNanos) {
            estimateNanos = rttNanos;
        } else {
            double decay = Math.exp(-Math.max(0, now - stampNanos) / decayNanos);
            estimateNanos = estimateNanos * decay + rttNanos * (1 - decay);
        }
        stampNanos = now;
        return estimateNanos;
    }
}
