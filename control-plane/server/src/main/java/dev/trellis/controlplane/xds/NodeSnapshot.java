package dev.trellis.controlplane.xds;

import io.envoyproxy.controlplane.cache.SnapshotResources;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.util.List;

/**
 * A node's snapshot built from {@link SnapshotResources} that may be shared: proxies with the same
 * outbound resources share one object per type, and a type that did not change keeps its object,
 * so a push to thousands of proxies does not hash every resource again for each of them.
 */
@SuppressWarnings("unchecked") // the raw versionedResources override below
final class NodeSnapshot extends Snapshot {
    private static final SnapshotResources<Secret> NO_SECRETS = SnapshotResources.create(List.of(), "0");

    private final SnapshotResources<Cluster> clusters;
    private final SnapshotResources<ClusterLoadAssignment> endpoints;
    private final SnapshotResources<Listener> listeners;
    private final SnapshotResources<RouteConfiguration> routes;

    NodeSnapshot(SnapshotResources<Cluster> clusters, SnapshotResources<ClusterLoadAssignment> endpoints,
                 SnapshotResources<Listener> listeners, SnapshotResources<RouteConfiguration> routes) {
        this.clusters = clusters;
        this.endpoints = endpoints;
        this.listeners = listeners;
        this.routes = routes;
    }

    @Override
    public SnapshotResources<Cluster> clusters() {
        return clusters;
    }

    @Override
    public SnapshotResources<ClusterLoadAssignment> endpoints() {
        return endpoints;
    }

    @Override
    public SnapshotResources<Listener> listeners() {
        return listeners;
    }

    @Override
    public SnapshotResources<RouteConfiguration> routes() {
        return routes;
    }

    @Override
    public SnapshotResources<Secret> secrets() {
        return NO_SECRETS;
    }

    // Snapshot declares this with a generic signature its v3 subclass does not match; a raw map fits both.
    @Override
    @SuppressWarnings({"rawtypes", "unchecked"})
    public java.util.Map versionedResources(io.envoyproxy.controlplane.cache.Resources.ResourceType type) {
        return switch (type) {
            case CLUSTER -> clusters.versionedResources();
            case ENDPOINT -> endpoints.versionedResources();
            case LISTENER -> listeners.versionedResources();
            case ROUTE -> routes.versionedResources();
            case SECRET -> NO_SECRETS.versionedResources();
        };
    }
}
