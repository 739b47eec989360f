package dev.trellis.demo.user.outbox;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with jitter: the n-th retry (n from 1) waits a random time between half and all
 * of {@code min(max, base * 2^(n-1))}, so retries spread out but still grow.
 */
public record Backoff(Duration base, Duration max, DoubleSupplier random) {
    public Backoff {
        if (base.isNegative() || base.isZero()) {
            throw new IllegalArgumentException("backoff base: " + base.toMillis() + "ms (expected: > 0)");
        }
        if (max.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff max: " + max.toMillis() + "ms (expected: >= base "
                    + base.toMillis() + "ms)");
        }
    }

    /** The wait before retry number {@code attempt} (1 for the first retry). */
    public Duration delay(int attempt) {
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt: " + attempt + " (expected: >= 1)");
        }
        long baseMs = base.toMillis();
        long capMs = max.toMillis();
        long ceiling = attempt > 62 || baseMs > (capMs >> Math.min(attempt - 1, 62)) ? capMs
                : Math.min(capMs, baseMs << (attempt - 1));
        long half = ceiling / 2;
        return Duration.ofMillis(half + (long) (random.getAsDouble() * (ceiling - half)));
    }
}
