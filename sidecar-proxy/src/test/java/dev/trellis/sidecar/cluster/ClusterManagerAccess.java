package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.LbConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Builds package-private cluster objects for unit tests. */
final class ClusterManagerAccess {
    private ClusterManagerAccess() {}

    static dev.trellis.sidecar.cluster.Cluster cluster(LbConfig lb, List<Host> hosts) {
        ClusterConfig base = new ClusterConfig("test", ClusterConfig.DiscoveryType.STATIC, Duration.ofSeconds(1), List.of(),
                ClusterConfig.UpstreamProtocol.HTTP1, 1 << 20, 1024, Optional.empty(), Optional.empty());
        ClusterConfig c = new ClusterConfig(base.name(), base.type(), base.connectTimeout(), lb, base.endpoints(),
                base.protocol(), base.perConnectionBufferLimitBytes(), base.maxConnectionsPerEndpoint(),
                base.dnsRefreshRate(), base.tls(), base.circuitBreakers(), base.highPriorityCircuitBreakers(),
                base.outlierDetection(), base.healthChecks());
        return new dev.trellis.sidecar.cluster.Cluster(c, hosts, null);
    }
}
