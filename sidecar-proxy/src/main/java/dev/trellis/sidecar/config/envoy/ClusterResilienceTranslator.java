package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.CircuitBreakerConfig;
import dev.trellis.sidecar.config.ConfigException;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.Optional;

/** A cluster's {@code circuit_breakers}, {@code outlier_detection} and {@code health_checks}. */
final class ClusterResilienceTranslator {
    private ClusterResilienceTranslator() {}

    /**
     * Thresholds for DEFAULT ({@code [0]}) and HIGH ({@code [1]}) priority. A priority without an
     * entry gets {@link CircuitBreakerConfig#DEFAULT} (Envoy's limits plus a 20%/min 3 retry budget);
     * an entry without {@code retry_budget} bounds retries by {@code max_retries} (default 3).
     */
    static CircuitBreakerConfig[] circuitBreakers(Cluster c, String cp) {
        CircuitBreakerConfig[] out = {CircuitBreakerConfig.DEFAULT, CircuitBreakerConfig.DEFAULT};
        if (!c.hasCircuitBreakers()) {
            return out;
        }
        CircuitBreakers cb = c.getCircuitBreakers();
        String p = cp + ".circuit_breakers";
        Fields.allowOnly(cb, p, "thresholds");
        boolean[] seen = new boolean[2];
        for (int i = 0; i < cb.getThresholdsCount(); i++) {
            CircuitBreakers.Thresholds t = cb.getThresholds(i);
            String tp = p + ".thresholds[" + i + "]";
            Fields.allowOnly(t, tp, "priority", "max_connections", "max_pending_requests", "max_requests",
                    "max_retries", "retry_budget", "track_remaining");
            int idx = switch (t.getPriority()) {
                case DEFAULT -> 0;
                case HIGH -> 1;
                default -> throw Fields.invalid(tp + ".priority", t.getPriority(), "DEFAULT or HIGH");
            };
            if (seen[idx]) {
                throw Fields.invalid(tp + ".priority", t.getPriority(), "one thresholds entry per priority");
            }
            seen[idx] = true;
            CircuitBreakerConfig d = CircuitBreakerConfig.ENVOY_DEFAULT;
            Optional<CircuitBreakerConfig.RetryBudget> budget = Optional.empty();
            if (t.hasRetryBudget()) {
                var b = t.getRetryBudget();
                Fields.allowOnly(b, tp + ".retry_budget", "budget_percent", "min_retry_concurrency");
                double pct = b.hasBudgetPercent() ? b.getBudgetPercent().getValue() : CircuitBreakerConfig.RetryBudget.DEFAULT.percent();
                int min = b.hasMinRetryConcurrency() ? b.getMinRetryConcurrency().getValue()
                        : CircuitBreakerConfig.RetryBudget.DEFAULT.minConcurrency();
                try {
                    budget = Optional.of(new CircuitBreakerConfig.RetryBudget(pct, min));
                } catch (ConfigException e) {
                    throw new ConfigException(tp + "." + e.getMessage(), e);
                }
            }
            out[idx] = new CircuitBreakerConfig(
                    t.hasMaxConnections() ? t.getMaxConnections().getValue() : d.maxConnections(),
                    t.hasMaxPendingRequests() ? t.getMaxPendingRequests().getValue() : d.maxPendingRequests(),
                    t.hasMaxRequests() ? t.getMaxRequests().getValue() : d.maxRequests(),
                    t.hasMaxRetries() ? t.getMaxRetries().getValue() : d.maxRetries(),
                    budget);
        }
        return out;
    }
}
