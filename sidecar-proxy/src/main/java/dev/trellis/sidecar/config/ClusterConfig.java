package dev.trellis.sidecar.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * An upstream cluster: how its endpoints are found, how one is picked, how connections are made.
 * Fields for resilience (circuit breakers, outlier detection, health checks) join this record later.
 */
public record ClusterConfig(String name, DiscoveryType type, Duration connectTimeout, String lbPolicy,
                            List<EndpointConfig> endpoints, UpstreamProtocol protocol,
                            int perConnectionBufferLimitBytes, int maxConnectionsPerEndpoint,
                            Optional<Duration> dnsRefreshRate, Optional<TlsConfig.Upstream> tls) {
    /** Envoy's discovery types supported here. */
    public enum DiscoveryType { STATIC, STRICT_DNS, LOGICAL_DNS, EDS }

    /** Protocol towards the upstream. */
    public enum UpstreamProtocol { HTTP1, HTTP2 }

    public ClusterConfig {
        endpoints = List.copyOf(endpoints);
        if (connectTimeout.isZero() || connectTimeout.isNegative()) {
            throw new ConfigException("cluster '" + name + "': connect_timeout " + connectTimeout.toMillis()
                    + "ms (expected: > 0)");
        }
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
