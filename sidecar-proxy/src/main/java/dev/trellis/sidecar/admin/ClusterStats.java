package dev.trellis.sidecar.admin;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.cluster.ResourceManager;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Resilience state of the clusters, read at scrape time: circuit breakers (open and overflowed per
 * resource and priority), retries, and hosts' health (ejections, active health checks), for
 * {@code /clusters} and as Prometheus text for {@code /metrics}.
 */
public final class ClusterStats {
    private ClusterStats() {}

    /** Per-host health details for {@code /clusters}. */
    static void host(Host h, Map<String, Object> e) {
        e.put("health", h.healthy() ? "HEALTHY" : reason(h));
        e.put("eds_health", h.health().name());
        e.put("failed_active_health_check", h.failedActiveHealthCheck());
        e.put("ejected", h.ejectedFor() != null);
        if (h.ejectedFor() != null) {
            e.put("ejection_reason", h.ejectedFor());
        }
    }

    private static String reason(Host h) {
        if (h.ejectedFor() != null) {
            return "EJECTED";
        }
        if (h.failedActiveHealthCheck()) {
            return "FAILED_ACTIVE_HC";
        }
        return h.health().name();
    }

    /** Per-cluster circuit breakers and retry counters for {@code /clusters}. */
    static void cluster(Cluster c, Map<String, Object> m) {
        Map<String, Object> cb = new LinkedHashMap<>();
        cb.put("default", breakers(c.resources(false)));
        cb.put("high", breakers(c.resources(true)));
        m.put("circuit_breakers", cb);
        m.put("retries", c.retries());
        m.put("retry_overflows", c.retryOverflows());
        m.put("outlier_detection", c.config().outlierDetection().isPresent());
        m.put("health_checks", c.config().healthChecks().size());
    }

    private static Map<String, Object> breakers(ResourceManager rm) {
        Map<String, Object> out = new LinkedHashMap<>();
        var cfg = rm.config();
        out.put("max_connections", cfg.maxConnections());
        out.put("max_pending_requests", cfg.maxPendingRequests());
        out.put("max_requests", cfg.maxRequests());
        out.put("max_retries", cfg.maxRetries());
        cfg.retryBudget().ifPresent(b -> out.put("retry_budget", Map.of("budget_percent", b.percent(),
                "min_retry_concurrency", b.minConcurrency())));
        for (ResourceManager.Resource r : new ResourceManager.Resource[] {rm.connections(), rm.pending(), rm.requests(), rm.retries()}) {
            out.put(r.name() + "_open", r.open());
            out.put(r.name() + "_overflows", r.overflows());
        }
        return out;
    }

    /**
     * Prometheus text: gauges of open resources, counters of overflows, retries, retries refused and
     * outlier ejections, and hosts ejected or failing health checks now.
     */
    public static String prometheus(Collection<Cluster> clusters) {
        StringBuilder sb = new StringBuilder();
        sb.append("# HELP trellis_cluster_circuit_breaker_open Resources in use per cluster, priority and resource\n");
        sb.append("# TYPE trellis_cluster_circuit_breaker_open gauge\n");
        StringBuilder overflow = new StringBuilder();
        overflow.append("# HELP trellis_cluster_circuit_breaker_overflow_total Requests refused (503 UO) or retries not made by a full circuit breaker\n");
        overflow.append("# TYPE trellis_cluster_circuit_breaker_overflow_total counter\n");
        StringBuilder retries = new StringBuilder();
        retries.append("# HELP trellis_cluster_retries_total Retries started per cluster\n");
        retries.append("# TYPE trellis_cluster_retries_total counter\n");
        StringBuilder retryOverflows = new StringBuilder();
        retryOverflows.append("# HELP trellis_upstream_retry_overflows_total Retries not made because the retry budget or max_retries was used up\n");
        retryOverflows.append("# TYPE trellis_upstream_retry_overflows_total counter\n");
        StringBuilder ejections = new StringBuilder();
        ejections.append("# HELP trellis_upstream_outlier_ejections_total Hosts ejected by outlier detection, by cluster and reason\n");
        ejections.append("# TYPE trellis_upstream_outlier_ejections_total counter\n");
        StringBuilder ejected = new StringBuilder();
        ejected.append("# HELP trellis_cluster_unhealthy_hosts Hosts ejected as outliers or failing active health checks\n");
        ejected.append("# TYPE trellis_cluster_unhealthy_hosts gauge\n");
        for (Cluster c : clusters) {
            String name = escape(c.name());
            for (boolean high : new boolean[] {false, true}) {
                ResourceManager rm = c.resources(high);
                String prio = high ? "high" : "default";
                for (ResourceManager.Resource r : new ResourceManager.Resource[] {rm.connections(), rm.pending(), rm.requests(), rm.retries()}) {
                    String labels = "{cluster=\"" + name + "\",priority=\"" + prio + "\",resource=\"" + r.name() + "\"}";
                    sb.append("trellis_cluster_circuit_breaker_open").append(labels).append(' ').append(r.open()).append('\n');
                    overflow.append("trellis_cluster_circuit_breaker_overflow_total").append(labels).append(' ').append(r.overflows()).append('\n');
                }
            }
            retries.append("trellis_cluster_retries_total{cluster=\"").append(name).append("\"} ").append(c.retries()).append('\n');
            retryOverflows.append("trellis_upstream_retry_overflows_total{cluster=\"").append(name).append("\"} ")
                    .append(c.retryOverflows()).append('\n');
            if (c.outlierDetector() != null) {
                // reasons are OutlierDetector's constants: bounded
                c.outlierDetector().ejectionsByReason().forEach((reason, n) -> ejections
                        .append("trellis_upstream_outlier_ejections_total{cluster=\"").append(name).append("\",reason=\"")
                        .append(escape(reason)).append("\"} ").append(n).append('\n'));
            }
            long out = c.hosts().stream().filter(h -> h.ejectedFor() != null).count();
            long hc = c.hosts().stream().filter(Host::failedActiveHealthCheck).count();
            ejected.append("trellis_cluster_unhealthy_hosts{cluster=\"").append(name).append("\",reason=\"outlier_ejected\"} ").append(out).append('\n');
            ejected.append("trellis_cluster_unhealthy_hosts{cluster=\"").append(name).append("\",reason=\"failed_active_health_check\"} ").append(hc).append('\n');
        }
        return sb.append(overflow).append(retries).append(retryOverflows).append(ejections).append(ejected).toString();
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
