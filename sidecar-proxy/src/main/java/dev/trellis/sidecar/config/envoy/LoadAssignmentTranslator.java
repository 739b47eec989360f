package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.SocketAddr;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import java.util.ArrayList;
import java.util.List;

/** {@code ClusterLoadAssignment} (inline, or from EDS later) to endpoints with priority and weight. */
public final class LoadAssignmentTranslator {
    private LoadAssignmentTranslator() {}

    public static List<ClusterConfig.EndpointConfig> translate(ClusterLoadAssignment cla, String path) {
        Fields.allowOnly(cla, path, "cluster_name", "endpoints");
        List<ClusterConfig.EndpointConfig> out = new ArrayList<>();
        for (int i = 0; i < cla.getEndpointsCount(); i++) {
            LocalityLbEndpoints l = cla.getEndpoints(i);
            String lp = path + ".endpoints[" + i + "]";
            Fields.allowOnly(l, lp, "locality", "lb_endpoints", "priority", "load_balancing_weight");
            for (int j = 0; j < l.getLbEndpointsCount(); j++) {
                LbEndpoint e = l.getLbEndpoints(j);
                String ep = lp + ".lb_endpoints[" + j + "]";
                Fields.allowOnly(e, ep, "endpoint", "health_status", "load_balancing_weight", "metadata");
                Fields.allowOnly(e.getEndpoint(), ep + ".endpoint", "address");
                SocketAddr addr = address(e.getEndpoint().getAddress(), ep + ".endpoint.address");
                int weight = e.hasLoadBalancingWeight() ? e.getLoadBalancingWeight().getValue() : 1;
                if (weight < 1) {
                    throw Fields.invalid(ep + ".load_balancing_weight", weight, ">= 1");
                }
                ClusterConfig.Health h = switch (e.getHealthStatus()) {
                    case HEALTHY -> ClusterConfig.Health.HEALTHY;
                    case UNHEALTHY, TIMEOUT -> ClusterConfig.Health.UNHEALTHY;
                    case DRAINING -> ClusterConfig.Health.DRAINING;
                    case DEGRADED -> ClusterConfig.Health.DEGRADED;
                    default -> ClusterConfig.Health.UNKNOWN;
                };
                out.add(new ClusterConfig.EndpointConfig(addr, l.getPriority(), weight, h));
            }
        }
        return out;
    }

    /** {@code Address.socket_address} to a host and port. */
    public static SocketAddr address(Address a, String path) {
        Fields.allowOnly(a, path, "socket_address");
        if (!a.hasSocketAddress()) {
            throw new dev.trellis.sidecar.config.ConfigException(path + ": no socket_address (expected: socket_address with address and port_value)");
        }
        var s = a.getSocketAddress();
        Fields.allowOnly(s, path + ".socket_address", "address", "port_value", "protocol");
        if (s.getProtocol() != io.envoyproxy.envoy.config.core.v3.SocketAddress.Protocol.TCP) {
            throw Fields.invalid(path + ".socket_address.protocol", s.getProtocol(), "TCP");
        }
        try {
            return new SocketAddr(s.getAddress(), s.getPortValue());
        } catch (dev.trellis.sidecar.config.ConfigException e) {
            throw new dev.trellis.sidecar.config.ConfigException(path + ".socket_address." + e.getMessage(), e);
        }
    }
}
