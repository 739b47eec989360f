package dev.trellis.sidecar.config.envoy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.ListenerConfig;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.config.SocketAddr;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** {@code Bootstrap} to {@link SidecarConfig}; checks references between listeners and clusters. */
public final class BootstrapTranslator {
    private BootstrapTranslator() {}

    public static SidecarConfig translate(Bootstrap b) {
        Fields.allowOnly(b, "", "node", "admin", "static_resources", "tracing");
        Fields.allowOnly(b.getNode(), "node", "id", "cluster", "metadata", "user_agent_name", "locality");
        Optional<SocketAddr> admin = Optional.empty();
        if (b.hasAdmin()) {
            Fields.allowOnly(b.getAdmin(), "admin", "address");
            if (b.getAdmin().hasAddress()) {
                admin = Optional.of(LoadAssignmentTranslator.address(b.getAdmin().getAddress(), "admin.address"));
            }
        }
        var sr = b.getStaticResources();
        Fields.allowOnly(sr, "static_resources", "listeners", "clusters");
        Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
        for (int i = 0; i < sr.getClustersCount(); i++) {
            String p = "static_resources.clusters[" + i + "]";
            ClusterConfig c = ClusterTranslator.translate(sr.getClusters(i), p);
            if (clusters.putIfAbsent(c.name(), c) != null) {
                throw new ConfigException(p + ".name: '" + c.name() + "' defined twice (expected: unique cluster names)");
            }
        }
        List<ListenerConfig> listeners = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < sr.getListenersCount(); i++) {
            String p = "static_resources.listeners[" + i + "]";
            ListenerConfig l = ListenerTranslator.translate(sr.getListeners(i), p);
            if (!names.add(l.name())) {
                throw new ConfigException(p + ".name: '" + l.name() + "' defined twice (expected: unique listener names)");
            }
            checkClusters(l.http().routes(), clusters, p);
            listeners.add(l);
        }
        var tracing = TelemetryTranslator.bootstrap(b.getTracing(), "tracing", clusters);
        for (int i = 0; i < listeners.size(); i++) {
            var t = listeners.get(i).telemetry().tracing();
            if (t.isPresent() && t.get().provider().isEmpty() && tracing.isEmpty()) {
                throw new ConfigException("static_resources.listeners[" + i + "] (listener '" + listeners.get(i).name()
                        + "'): tracing has no provider (expected: tracing.provider in the HttpConnectionManager "
                        + "or tracing.http in the bootstrap)");
            }
        }
        Map<String, Object> metadata = toJava(b.getNode().getMetadata());
        return new SidecarConfig(new SidecarConfig.NodeInfo(b.getNode().getId(), b.getNode().getCluster(), metadata),
                admin, listeners, clusters, tracing);
    }

    /** Envoy checks that a static route table names only clusters that exist. */
    public static void checkClusters(RouteTable routes, Map<String, ClusterConfig> clusters, String path) {
        for (int v = 0; v < routes.virtualHosts().size(); v++) {
            RouteTable.VirtualHost vh = routes.virtualHosts().get(v);
            for (int r = 0; r < vh.routes().size(); r++) {
                if (vh.routes().get(r).action() instanceof RouteTable.Forward fw) {
                    for (RouteTable.WeightedCluster wc : fw.clusters()) {
                        if (!clusters.containsKey(wc.name())) {
                            throw new ConfigException(path + " route_config.virtual_hosts[" + v + "].routes[" + r
                                    + "]: cluster '" + wc.name() + "' is not defined (expected one of: "
                                    + String.join(", ", clusters.keySet()) + ")");
                        }
                    }
                }
            }
        }
    }

    private static Map<String, Object> toJava(Struct s) {
        Map<String, Object> m = new LinkedHashMap<>();
        s.getFieldsMap().forEach((k, v) -> m.put(k, toJava(v)));
        return m;
    }

    private static Object toJava(Value v) {
        return switch (v.getKindCase()) {
            case STRING_VALUE -> v.getStringValue();
            case NUMBER_VALUE -> v.getNumberValue();
            case BOOL_VALUE -> v.getBoolValue();
            case STRUCT_VALUE -> toJava(v.getStructValue());
            case LIST_VALUE -> v.getListValue().getValuesList().stream().map(BootstrapTranslator::toJava).toList();
            default -> "";
        };
    }
}
