package dev.trellis.controlplane.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.Map;

/** The xDS resources of one proxy, by resource name (sorted maps, so equal inputs compare equal). */
public record XdsResources(Map<String, Listener> listeners, Map<String, RouteConfiguration> routes,
                           Map<String, Cluster> clusters, Map<String, ClusterLoadAssignment> endpoints) {}
