package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.CircuitBreakerConfig;
import dev.trellis.sidecar.config.ConfigException;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import dev.trellis.sidecar.config.HealthCheckConfig;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import dev.trellis.sidecar.config.OutlierDetectionConfig;
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

    /** {@code outlier_detection} with Envoy's defaults for absent fields. */
    static Optional<OutlierDetectionConfig> outlierDetection(Cluster c, String cp) {
        if (!c.hasOutlierDetection()) {
            return Optional.empty();
        }
        OutlierDetection o = c.getOutlierDetection();
        String p = cp + ".outlier_detection";
        Fields.allowOnly(o, p, "consecutive_5xx", "consecutive_gateway_failure", "consecutive_local_origin_failure",
                "enforcing_consecutive_5xx", "enforcing_consecutive_gateway_failure",
                "enforcing_consecutive_local_origin_failure", "split_external_local_origin_errors", "interval",
                "base_ejection_time", "max_ejection_time", "max_ejection_percent", "success_rate_minimum_hosts",
                "success_rate_request_volume", "success_rate_stdev_factor", "enforcing_success_rate",
                "enforcing_local_origin_success_rate", "failure_percentage_threshold",
                "failure_percentage_minimum_hosts", "failure_percentage_request_volume", "enforcing_failure_percentage",
                "enforcing_failure_percentage_local_origin");
        OutlierDetectionConfig d = OutlierDetectionConfig.DEFAULT;
        try {
            return Optional.of(new OutlierDetectionConfig(
                    u(o.hasConsecutive5Xx(), o.getConsecutive5Xx(), d.consecutive5xx()),
                    u(o.hasConsecutiveGatewayFailure(), o.getConsecutiveGatewayFailure(), d.consecutiveGatewayFailure()),
                    u(o.hasConsecutiveLocalOriginFailure(), o.getConsecutiveLocalOriginFailure(), d.consecutiveLocalOriginFailure()),
                    u(o.hasEnforcingConsecutive5Xx(), o.getEnforcingConsecutive5Xx(), d.enforcingConsecutive5xx()),
                    u(o.hasEnforcingConsecutiveGatewayFailure(), o.getEnforcingConsecutiveGatewayFailure(),
                            d.enforcingConsecutiveGatewayFailure()),
                    u(o.hasEnforcingConsecutiveLocalOriginFailure(), o.getEnforcingConsecutiveLocalOriginFailure(),
                            d.enforcingConsecutiveLocalOriginFailure()),
                    o.getSplitExternalLocalOriginErrors(),
                    o.hasInterval() ? Fields.duration(o.getInterval()) : d.interval(),
                    o.hasBaseEjectionTime() ? Fields.duration(o.getBaseEjectionTime()) : d.baseEjectionTime(),
                    o.hasMaxEjectionTime() ? Fields.duration(o.getMaxEjectionTime())
                            : max(d.maxEjectionTime(), o.hasBaseEjectionTime() ? Fields.duration(o.getBaseEjectionTime()) : d.baseEjectionTime()),
                    u(o.hasMaxEjectionPercent(), o.getMaxEjectionPercent(), d.maxEjectionPercent()),
                    u(o.hasSuccessRateMinimumHosts(), o.getSuccessRateMinimumHosts(), d.successRateMinimumHosts()),
                    u(o.hasSuccessRateRequestVolume(), o.getSuccessRateRequestVolume(), d.successRateRequestVolume()),
                    o.hasSuccessRateStdevFactor() ? o.getSuccessRateStdevFactor().getValue() / 1000.0 : d.successRateStdevFactor(),
                    u(o.hasEnforcingSuccessRate(), o.getEnforcingSuccessRate(), d.enforcingSuccessRate()),
                    u(o.hasEnforcingLocalOriginSuccessRate(), o.getEnforcingLocalOriginSuccessRate(), d.enforcingLocalOriginSuccessRate()),
                    u(o.hasFailurePercentageThreshold(), o.getFailurePercentageThreshold(), d.failurePercentageThreshold()),
                    u(o.hasFailurePercentageMinimumHosts(), o.getFailurePercentageMinimumHosts(), d.failurePercentageMinimumHosts()),
                    u(o.hasFailurePercentageRequestVolume(), o.getFailurePercentageRequestVolume(), d.failurePercentageRequestVolume()),
                    u(o.hasEnforcingFailurePercentage(), o.getEnforcingFailurePercentage(), d.enforcingFailurePercentage()),
                    u(o.hasEnforcingFailurePercentageLocalOrigin(), o.getEnforcingFailurePercentageLocalOrigin(),
                            d.enforcingFailurePercentageLocalOrigin())));
        } catch (ConfigException e) {
            throw new ConfigException(cp + "." + e.getMessage(), e);
        }
    }

    private static int u(boolean has, com.google.protobuf.UInt32Value v, int d) {
        return has ? v.getValue() : d;
    }

    private static java.time.Duration max(java.time.Duration a, java.time.Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /**
     * {@code health_checks}: HTTP, TCP or gRPC checks, each with its own interval and thresholds; a
     * host must pass every one of them.
     */
    static java.util.List<HealthCheckConfig> healthChecks(Cluster c, String cp) {
        java.util.List<HealthCheckConfig> out = new java.util.ArrayList<>();
        for (int i = 0; i < c.getHealthChecksCount(); i++) {
            out.add(healthCheck(c.getHealthChecks(i), cp + ".health_checks[" + i + "]"));
        }
        return java.util.List.copyOf(out);
    }

    private static HealthCheckConfig healthCheck(HealthCheck h, String p) {
        Fields.allowOnly(h, p, "timeout", "interval", "interval_jitter", "interval_jitter_percent",
                "unhealthy_threshold", "healthy_threshold", "http_health_check", "tcp_health_check", "grpc_health_check");
        if (!h.hasTimeout() || !h.hasInterval() || !h.hasUnhealthyThreshold() || !h.hasHealthyThreshold()) {
            throw new ConfigException(p + ": timeout, interval, unhealthy_threshold and healthy_threshold are required");
        }
        HealthCheckConfig.Kind kind;
        String path = "";
        Optional<String> host = Optional.empty();
        java.util.List<HealthCheckConfig.StatusRange> expected = new java.util.ArrayList<>();
        String service = "";
        switch (h.getHealthCheckerCase()) {
            case HTTP_HEALTH_CHECK -> {
                kind = HealthCheckConfig.Kind.HTTP;
                var http = h.getHttpHealthCheck();
                String hp = p + ".http_health_check";
                Fields.allowOnly(http, hp, "host", "path", "expected_statuses", "codec_client_type");
                if (http.getCodecClientType() != io.envoyproxy.envoy.type.v3.CodecClientType.HTTP1) {
                    throw Fields.invalid(hp + ".codec_client_type", http.getCodecClientType(), "HTTP1");
                }
                if (!http.getPath().startsWith("/")) {
                    throw Fields.invalid(hp + ".path", "'" + http.getPath() + "'", "a path starting with /");
                }
                path = http.getPath();
                host = http.getHost().isEmpty() ? Optional.empty() : Optional.of(http.getHost());
                for (int i = 0; i < http.getExpectedStatusesCount(); i++) {
                    var r = http.getExpectedStatuses(i);
                    if (r.getStart() < 100 || r.getEnd() > 600 || r.getStart() >= r.getEnd()) {
                        throw Fields.invalid(hp + ".expected_statuses[" + i + "]", "[" + r.getStart() + ", " + r.getEnd() + ")",
                                "a range within [100, 600) with start < end");
                    }
                    expected.add(new HealthCheckConfig.StatusRange((int) r.getStart(), (int) r.getEnd()));
                }
                if (expected.isEmpty()) {
                    expected.add(new HealthCheckConfig.StatusRange(200, 201));
                }
            }
            case TCP_HEALTH_CHECK -> {
                kind = HealthCheckConfig.Kind.TCP;
                Fields.allowOnly(h.getTcpHealthCheck(), p + ".tcp_health_check");
            }
            case GRPC_HEALTH_CHECK -> {
                kind = HealthCheckConfig.Kind.GRPC;
                var g = h.getGrpcHealthCheck();
                Fields.allowOnly(g, p + ".grpc_health_check", "service_name", "authority");
                service = g.getServiceName();
                host = g.getAuthority().isEmpty() ? Optional.empty() : Optional.of(g.getAuthority());
            }
            default -> throw new ConfigException(p + ": no checker (expected: http_health_check, tcp_health_check or grpc_health_check)");
        }
        try {
            return new HealthCheckConfig(kind, Fields.duration(h.getInterval()), Fields.duration(h.getTimeout()),
                    h.getUnhealthyThreshold().getValue(), h.getHealthyThreshold().getValue(),
                    h.hasIntervalJitter() ? Fields.duration(h.getIntervalJitter()) : java.time.Duration.ZERO,
                    h.getIntervalJitterPercent(), java.time.Duration.ZERO, path, host, expected, service, false);
        } catch (ConfigException e) {
            throw new ConfigException(p + ": " + e.getMessage(), e);
        }
    }
}
