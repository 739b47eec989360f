package dev.trellis.sidecar.config;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * A route's {@code retry_policy}: on which outcomes to retry, how often, how long each try may
 * take, the fully jittered exponential back-off, and whether to avoid hosts already tried.
 */
public record RetryPolicy(Set<String> retryOn, int numRetries, Optional<Duration> perTryTimeout,
                          Duration backoffBase, Duration backoffMax, Set<Integer> retriableStatusCodes,
                          boolean avoidPreviousHosts, int hostSelectionRetryMaxAttempts) {
    /** The {@code retry_on} conditions Trellis implements (Envoy's names). */
    public static final Set<String> CONDITIONS = Set.of("5xx", "gateway-error", "reset", "connect-failure",
            "retriable-4xx", "refused-stream", "retriable-status-codes", "cancelled", "deadline-exceeded",
            "internal", "resource-exhausted", "unavailable");
    public static final Duration DEFAULT_BACKOFF_BASE = Duration.ofMillis(25);

    public RetryPolicy {
        retryOn = Set.copyOf(retryOn);
        retriableStatusCodes = Set.copyOf(retriableStatusCodes);
        for (String r : retryOn) {
            if (!CONDITIONS.contains(r)) {
                throw new ConfigException("retry_on: '" + r + "' (expected: some of " + new java.util.TreeSet<>(CONDITIONS) + ")");
            }
        }
        if (backoffBase.isZero() || backoffBase.isNegative() || backoffMax.compareTo(backoffBase) < 0) {
            throw new ConfigException("retry_back_off: base " + backoffBase.toMillis() + "ms, max " + backoffMax.toMillis()
                    + "ms (expected: 0 < base_interval <= max_interval)");
        }
    }

    public boolean on(String condition) {
        return retryOn.contains(condition);
    }
}
