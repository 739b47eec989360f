package dev.trellis.sidecar.xds;

import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HeaderMutation;
import dev.trellis.sidecar.config.ListenerConfig;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.config.SocketAddr;
import dev.trellis.sidecar.config.envoy.ClusterTranslator;
import dev.trellis.sidecar.config.envoy.ListenerTranslator;
import dev.trellis.sidecar.config.envoy.LoadAssignmentTranslator;
import dev.trellis.sidecar.config.envoy.RouteConfigTranslator;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * xDS resources to the sidecar's {@link SidecarConfig}, through the same translators as a static
 * bootstrap. Local settings that are not xDS (node, admin address, one local listener per
 * {@code --upstream}) are added here. Errors name the resource type, the resource and the field.
 */
public final class XdsConfigTranslator {
    /** Listener name prefix of the local per-upstream listeners: {@code upstream|<service>}. */
    public static final String UPSTREAM_PREFIX = "upstream|";
    /** The control plane's outbound listener and route configuration (see README, "What a proxy receives"). */
    public static final String OUTBOUND = "outbound";

    /**
     * What the sidecar adds itself.
     *
     * @param upstreams service name to the local port of its listener on 127.0.0.1
     */
    public record Local(SidecarConfig.NodeInfo node, Optional<SocketAddr> admin, Map<String, Integer> upstreams) {
        public Local {
            upstreams = Map.copyOf(upstreams);
        }
    }

    /** The outcome: a config to apply, or (when something referenced has not arrived yet) none. */
    public record Result(Optional<SidecarConfig> config, List<String> waitingFor) {
        public boolean complete() {
            return config.isPresent();
        }
    }

    private XdsConfigTranslator() {}

    /**
     * Translates everything in {@code r}; throws {@link ConfigException} for anything the sidecar
     * cannot apply. A config comes back only when LDS and CDS have arrived and every RDS and EDS
     * resource they reference is there.
     */
    public static Result translate(XdsResources r, Local local) {
        List<String> waiting = new ArrayList<>();
        if (!r.received().contains(XdsType.LDS)) waiting.add("LDS");
        if (!r.received().contains(XdsType.CDS)) waiting.add("CDS");

        Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
        for (Map.Entry<String, Cluster> e : r.sortedClusters().entrySet()) {
            Cluster cluster = e.getValue();
            if (cluster.getType() == Cluster.DiscoveryType.EDS) {
                String eds = AdsClient.edsName(cluster);
                ClusterLoadAssignment cla = r.endpoints().get(eds);
                if (cla == null) {
                    waiting.add("EDS '" + eds + "'");
                } else {
                    // checked under its own name, then carried as the cluster's load assignment
                    LoadAssignmentTranslator.translate(cla, "EDS[" + eds + "]");
                    cluster = cluster.toBuilder().setLoadAssignment(cla).build();
                }
            }
            ClusterConfig c = ClusterTranslator.translate(cluster, "CDS[" + e.getKey() + "]", true);
            clusters.put(c.name(), c);
        }

        Map<String, RouteTable> tables = new HashMap<>();
        List<ListenerConfig> listeners = new ArrayList<>();
        for (Map.Entry<String, Listener> e : r.sortedListeners().entrySet()) {
            listeners.add(ListenerTranslator.translate(e.getValue(), "LDS[" + e.getKey() + "]", name -> tables.computeIfAbsent(name, n -> {
                RouteConfiguration rc = r.routes().get(n);
                if (rc == null) {
                    waiting.add("RDS '" + n + "'");
                    return new RouteTable(n, List.of(), HeaderMutation.NONE, HeaderMutation.NONE);
                }
                return RouteConfigTranslator.translate(rc, "RDS[" + n + "]");
            })));
        }
        if (!local.upstreams().isEmpty()) {
            ListenerConfig outbound = listeners.stream().filter(l -> l.name().equals(OUTBOUND)).findFirst().orElse(null);
            if (outbound == null) {
                waiting.add("LDS '" + OUTBOUND + "' (for the --upstream listeners)");
            } else {
                for (Map.Entry<String, Integer> u : new TreeMap<>(local.upstreams()).entrySet()) {
                    listeners.add(upstreamListener(outbound, u.getKey(), u.getValue()));
                }
            }
        }
        if (!waiting.isEmpty()) {
            return new Result(Optional.empty(), List.copyOf(waiting));
        }
        return new Result(Optional.of(new SidecarConfig(local.node(), local.admin(), listeners, clusters)), List.of());
    }

    /**
     * {@code 127.0.0.1:<port>} sending everything to {@code service}: the outbound listener's
     * connection manager over the service's own virtual host (its routes, subsets, retries and
     * timeouts) matching any authority, with the outbound listener's telemetry. No such virtual
     * host: every request gets 404 NR.
     */
    static ListenerConfig upstreamListener(ListenerConfig outbound, String service, int port) {
        RouteTable out = outbound.http().routes();
        List<RouteTable.VirtualHost> vhs = out.virtualHosts().stream()
                .filter(vh -> vh.name().equals(service))
                .map(vh -> new RouteTable.VirtualHost(vh.name(), List.of("*"), vh.routes(), vh.requestHeaders(),
                        vh.responseHeaders()))
                .toList();
        RouteTable table = new RouteTable(UPSTREAM_PREFIX + service, vhs, out.requestHeaders(), out.responseHeaders());
        // the app's calls through this listener are outbound calls: same access logs, tracing and reporter
        return new ListenerConfig(UPSTREAM_PREFIX + service, new SocketAddr("127.0.0.1", port),
                outbound.http().withRoutes(table), Optional.empty(), false,
                outbound.telemetry().withDirection(dev.trellis.sidecar.config.TelemetryConfig.Direction.OUTBOUND));
    }
}
