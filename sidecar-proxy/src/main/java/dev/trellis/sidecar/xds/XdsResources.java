package dev.trellis.sidecar.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The xDS resources an {@link AdsClient} holds (the last accepted response of each type, by
 * name), and which types have had a response on any stream. Immutable; protobuf stays at this edge.
 */
public record XdsResources(Map<String, Listener> listeners, Map<String, RouteConfiguration> routes,
                           Map<String, Cluster> clusters, Map<String, ClusterLoadAssignment> endpoints,
                           Set<XdsType> received) {
    public XdsResources {
        listeners = Map.copyOf(listeners);
        routes = Map.copyOf(routes);
        clusters = Map.copyOf(clusters);
        endpoints = Map.copyOf(endpoints);
        received = Set.copyOf(received);
    }

    public static final XdsResources EMPTY = new XdsResources(Map.of(), Map.of(), Map.of(), Map.of(), Set.of());

    /** Sorted by name, so translation (and its error messages) does not depend on map order. */
    public Map<String, Listener> sortedListeners() {
        return new TreeMap<>(listeners);
    }

    public Map<String, Cluster> sortedClusters() {
        return new TreeMap<>(clusters);
    }

    /** A copy with {@code type}'s resources replaced by {@code resources}. */
    @SuppressWarnings("unchecked")
    XdsResources with(XdsType type, Map<String, ?> resources) {
        Set<XdsType> r = received.isEmpty() ? EnumSet.noneOf(XdsType.class) : EnumSet.copyOf(received);
        r.add(type);
        return switch (type) {
            case LDS -> new XdsResources((Map<String, Listener>) resources, routes, clusters, endpoints, r);
            case RDS -> new XdsResources(listeners, (Map<String, RouteConfiguration>) resources, clusters, endpoints, r);
            case CDS -> new XdsResources(listeners, routes, (Map<String, Cluster>) resources, endpoints, r);
            case EDS -> new XdsResources(listeners, routes, clusters, (Map<String, ClusterLoadAssignment>) resources, r);
        };
    }
}
