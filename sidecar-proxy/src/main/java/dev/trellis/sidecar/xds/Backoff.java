package dev.trellis.sidecar.xds;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Jittered exponential backoff for reconnecting to the control plane: the n-th wait is drawn
 * uniformly from {@code [d/2, d]} with {@code d = min(max, base * 2^n)}, so many sidecars that
 * lost the same control plane do not come back in step, and none waits less than half the step.
 * Not thread-safe: one instance per reconnecting stream, used from one thread.
 */
public final class Backoff {
    /** Defaults: first retry after 0.25-0.5 s, never more than 5 s apart. */
    public static final Duration DEFAULT_BASE = Duration.ofMillis(500);
    public static final Duration DEFAULT_MAX = Duration.ofSeconds(5);

    private final long baseNanos;
    private final long maxNanos;
    private final DoubleSupplier random;
    private int attempt;

    public Backoff(Duration base, Duration max, DoubleSupplier random) {
        if (base.isNegative() || base.isZero()) {
            throw new IllegalArgumentException("backoff base: " + base + " (expected: > 0)");
        }
        if (max.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff max: " + max + " (expected: >= base " + base + ")");
        }
        this.baseNanos = base.toNanos();
        this.maxNanos = max.toNanos();
        this.random = Objects.requireNonNull(random);
    }

    /** With {@link #DEFAULT_BASE}, {@link #DEFAULT_MAX} and a thread-local random source. */
    public static Backoff defaults() {
        return new Backoff(DEFAULT_BASE, DEFAULT_MAX, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** The wait before the next attempt; each call doubles the step until {@code max}. */
    public Duration next() {
        long step = baseNanos;
        for (int i = 0; i < attempt && step < maxNanos; i++) {
            step = step > maxNanos / 2 ? maxNanos : step * 2;
        }
        step = Math.min(step, maxNanos);
        attempt++;
        double r = Math.min(1.0, Math.max(0.0, random.getAsDouble()));
        return Duration.ofNanos(step / 2 + (long) (r * (step - step / 2)));
    }

    /** After a success: the next failure waits the shortest step again. */
    public void reset() {
        attempt = 0;
    }

    /** Attempts since the last {@link #reset()}. */
    public int attempts() {
        return attempt;
    }
}
