package dev.trellis.sidecar.config;

import java.time.Duration;

/**
 * How a cluster picks a host: the policy and its knobs, with Envoy's defaults (and Linkerd's for
 * peak EWMA). {@code panicThreshold} is a percentage; 0 turns panic mode off.
 */
public record LbConfig(Policy policy, int choiceCount, double activeRequestBias, long minRingSize, long maxRingSize,
                       double panicThreshold, Duration ewmaDecay, Duration ewmaDefaultRtt) {
    /** Supported balancers. */
    public enum Policy { ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, PEAK_EWMA }

    public static final int DEFAULT_CHOICE_COUNT = 2;
    public static final long DEFAULT_MIN_RING = 1024;
    public static final long DEFAULT_MAX_RING = 8 * 1024 * 1024;
    public static final double DEFAULT_PANIC_THRESHOLD = 50;
    /** Linkerd's decay window for the peak-EWMA latency estimate. */
    public static final Duration DEFAULT_EWMA_DECAY = Duration.ofSeconds(10);
    /** Linkerd's latency assumed for an endpoint before its first response. */
    public static final Duration DEFAULT_EWMA_RTT = Duration.ofMillis(30);

    public static final LbConfig ROUND_ROBIN = of(Policy.ROUND_ROBIN);

    public static LbConfig of(Policy policy) {
        return new LbConfig(policy, DEFAULT_CHOICE_COUNT, 1.0, DEFAULT_MIN_RING, DEFAULT_MAX_RING,
                DEFAULT_PANIC_THRESHOLD, DEFAULT_EWMA_DECAY, DEFAULT_EWMA_RTT);
    }

    public LbConfig {
        if (choiceCount < 2) {
            throw new ConfigException("choice_count: " + choiceCount + " (expected: >= 2)");
        }
        if (activeRequestBias < 0 || Double.isNaN(activeRequestBias)) {
            throw new ConfigException("active_request_bias: " + activeRequestBias + " (expected: >= 0)");
        }
        if (minRingSize < 1 || maxRingSize > DEFAULT_MAX_RING || minRingSize > maxRingSize) {
            throw new ConfigException("ring size: minimum " + minRingSize + ", maximum " + maxRingSize
                    + " (expected: 1 <= minimum_ring_size <= maximum_ring_size <= " + DEFAULT_MAX_RING + ")");
        }
        if (panicThreshold < 0 || panicThreshold > 100) {
            throw new ConfigException("healthy_panic_threshold: " + panicThreshold + " (expected: 0..100)");
        }
        if (ewmaDecay.isNegative() || ewmaDecay.isZero() || ewmaDefaultRtt.isNegative()) {
            throw new ConfigException("peak_ewma: decay " + ewmaDecay + ", default_rtt " + ewmaDefaultRtt
                    + " (expected: decay > 0, default_rtt >= 0)");
        }
    }

    public LbConfig withPanicThreshold(double p) {
        return new LbConfig(policy, choiceCount, activeRequestBias, minRingSize, maxRingSize, p, ewmaDecay, ewmaDefaultRtt);
    }
}
