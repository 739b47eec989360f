package dev.trellis.sidecar.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * An upstream cluster: how its endpoints are found, how one is picked, how connections are made,
 * and its resilience settings: circuit breakers (default and high routing priority), outlier
 * detection and active health checks.
 */
public record ClusterConfig(String name, DiscoveryType type, Duration connectTimeout, LbConfig lb,
                            List<EndpointConfig> endpoints, UpstreamProtocol protocol,
                            int perConnectionBufferLimitBytes, int maxConnectionsPerEndpoint,
                            Optional<Duration> dnsRefreshRate, Optional<TlsConfig.Upstream> tls,
                            CircuitBreakerConfig circuitBreakers, CircuitBreakerConfig highPriorityCircuitBreakers,
                            Optional<OutlierDetectionConfig> outlierDetection, List<HealthCheckConfig> healthChecks) {
    /** Envoy's discovery types supported here. */
    public enum DiscoveryType { STATIC, STRICT_DNS, LOGICAL_DNS, EDS }

    /**
     * Protocol towards the upstream; {@code DOWNSTREAM} (Envoy's {@code use_downstream_protocol_config})
     * sends each request over the protocol it arrived with: HTTP/2 (and so gRPC) over HTTP/2, HTTP/1 over HTTP/1.1.
     */
    public enum UpstreamProtocol { HTTP1, HTTP2, DOWNSTREAM;

        /** The protocol of a request that arrived over HTTP/2 ({@code true}) or HTTP/1: true for HTTP/2. */
        public boolean http2For(boolean downstreamHttp2) {
            return this == HTTP2 || (this == DOWNSTREAM && downstreamHttp2);
        }
    }

    /** A cluster with default balancing and resilience settings. */
    public ClusterConfig(String name, DiscoveryType type, Duration connectTimeout, List<EndpointConfig> endpoints,
                         UpstreamProtocol protocol, int perConnectionBufferLimitBytes, int maxConnectionsPerEndpoint,
                         Optional<Duration> dnsRefreshRate, Optional<TlsConfig.Upstream> tls) {
        this(name, type, connectTimeout, LbConfig.ROUND_ROBIN, endpoints, protocol, perConnectionBufferLimitBytes,
                maxConnectionsPerEndpoint, dnsRefreshRate, tls, CircuitBreakerConfig.DEFAULT,
                CircuitBreakerConfig.DEFAULT, Optional.empty(), List.of());
    }

    public ClusterConfig {
        endpoints = List.copyOf(endpoints);
        healthChecks = List.copyOf(healthChecks);
        if (connectTimeout.isZero() || connectTimeout.isNegative()) {
            throw new ConfigException("cluster '" + name + "': connect_timeout " + connectTimeout.toMillis()
                    + "ms (expected: > 0)");
        }
    }

    /** The balancer's name as in {@code lb_policy} (or {@code PEAK_EWMA}). */
    public String lbPolicy() {
        return lb.policy().name();
    }

    /** The thresholds of a routing priority. */
    public CircuitBreakerConfig circuitBreakers(boolean highPriority) {
        return highPriority ? highPriorityCircuitBreakers : circuitBreakers;
    }

    /** One endpoint of a cluster's load assignment. */
    public record EndpointConfig(SocketAddr address, int priority, int weight, Health health) {
        public EndpointConfig {
            if (weight < 1) {
                throw new ConfigException("load_balancing_weight: " + weight + " (expected: >= 1)");
            }
        }
    }

    /** Health status given by config or discovery. */
    public enum Health { UNKNOWN, HEALTHY, UNHEALTHY, DRAINING, DEGRADED }
}
