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
        double decay = Math.exp(-Math.max(0, now - stampNanos) / decayNanos);
        // The weighted mean lies between the estimate and the sample, so taking the larger of it and
        // the sample is the peak rule without a branch: the first slower-than-estimate response, often
        // a minute after start, used to hit a never-taken branch in compiled code, and the JIT threw
        // away the whole inlined response path (Http1Connection.channelRead) to recompile it.
        estimateNanos = Math.max(estimateNanos * decay + rttNanos * (1 - decay), rttNanos);
        stampNanos = now;
        return estimateNanos;
    }
}
