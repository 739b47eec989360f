package dev.trellis.sidecar.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The whole effective configuration of one sidecar: swapped atomically on reload. */
public record SidecarConfig(NodeInfo node, Optional<SocketAddr> admin, List<ListenerConfig> listeners,
                            Map<String, ClusterConfig> clusters) {
    public SidecarConfig {
        listeners = List.copyOf(listeners);
        clusters = Map.copyOf(clusters);
    }

    /** {@code node}: who this proxy is. */
    public record NodeInfo(String id, String cluster, Map<String, Object> metadata) {
        public NodeInfo {
            metadata = Map.copyOf(metadata);
        }
    }
}
