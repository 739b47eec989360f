package dev.trellis.sidecar.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole effective configuration of one sidecar: swapped atomically on reload. {@code tracing}
 * is the bootstrap's {@code tracing.http}: the collector of listeners whose {@code tracing} names none.
 */
public record SidecarConfig(NodeInfo node, Optional<SocketAddr> admin, List<ListenerConfig> listeners,
                            Map<String, ClusterConfig> clusters, Optional<TelemetryConfig.Provider> tracing) {
    public SidecarConfig {
        listeners = List.copyOf(listeners);
        clusters = Map.copyOf(clusters);
    }

    /** A config without a bootstrap-wide tracer. */
    public SidecarConfig(NodeInfo node, Optional<SocketAddr> admin, List<ListenerConfig> listeners,
                         Map<String, ClusterConfig> clusters) {
        this(node, admin, listeners, clusters, Optional.empty());
    }

    /** {@code node}: who this proxy is. */
    public record NodeInfo(String id, String cluster, Map<String, Object> metadata) {
        public NodeInfo {
            metadata = Map.copyOf(metadata);
        }
    }
}
