package dev.trellis.sidecar.config;

import java.util.Optional;

/**
 * Envoy's {@code circuit_breakers.thresholds} for one routing priority. When a retry budget is
 * set it replaces {@code maxRetries} (as in Envoy).
 */
public record CircuitBreakerConfig(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries,
                                   Optional<RetryBudget> retryBudget) {
    /** Envoy's defaults: 1024 connections, pending and requests, 3 retries. */
    public static final CircuitBreakerConfig ENVOY_DEFAULT = new CircuitBreakerConfig(1024, 1024, 1024, 3, Optional.empty());
    /** Trellis' default when a cluster names no thresholds: Envoy's plus a 20% (min 3) retry budget. */
    public static final CircuitBreakerConfig DEFAULT = new CircuitBreakerConfig(1024, 1024, 1024, 3,
            Optional.of(RetryBudget.DEFAULT));

    public CircuitBreakerConfig {
        if (maxConnections < 0 || maxPendingRequests < 0 || maxRequests < 0 || maxRetries < 0) {
            throw new ConfigException("circuit_breakers: negative threshold (expected: >= 0)");
        }
    }

    /** Retries allowed as a share of active requests, never fewer than {@code minConcurrency}. */
    public record RetryBudget(double percent, int minConcurrency) {
        public static final RetryBudget DEFAULT = new RetryBudget(20, 3);

        public RetryBudget {
            if (percent < 0 || percent > 100) {
                throw new ConfigException("retry_budget.budget_percent: " + percent + " (expected: 0..100)");
            }
        }
    }
}
