package dev.trellis.controlplane.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Sits between the discovery server and the snapshot cache and fixes two things of plain
 * state-of-the-world serving: a request that omits its node (allowed after the first request of a
 * stream) is served for the stream's node, a NACK waits for a newer version instead of getting
 * the rejected one again at once (which would make a proxy NACK in a tight loop), and an LDS or CDS
 * request naming a resource that does not exist is answered without it instead of not at all.
 */
final class StreamAwareWatcher implements ConfigWatcher {
    private final ConfigWatcher cache;
    private final ProxyTracker tracker;

    StreamAwareWatcher(ConfigWatcher cache, ProxyTracker tracker) {
        this.cache = cache;
        this.tracker = tracker;
    }

    @Override
    public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
                             Consumer<Response> responseConsumer, boolean hasClusterChanged,
                             boolean allowDefaultEmptyEdsUpdate) {
        ProxyTracker.RequestContext ctx = tracker.takeRequestContext();
        DiscoveryRequest r = request.v3Request();
        if (ctx != null && ((!r.hasNode() && ctx.node() != null) || ctx.rejectedVersion() != null)) {
            DiscoveryRequest.Builder b = r.toBuilder();
            if (!r.hasNode() && ctx.node() != null) b.setNode(ctx.node());
            if (ctx.rejectedVersion() != null) {
                b.setVersionInfo(ctx.rejectedVersion());
                // the names of a NACKed RDS/EDS response are not new to the proxy: without this the
                // cache answers them again at once (a first response that is NACKed was never ACKed)
                Set<String> known = new java.util.HashSet<>(knownResourceNames);
                known.addAll(r.getResourceNamesList());
                knownResourceNames = known;
            }
            request = XdsRequest.create(b.build());
        }
        // LDS and CDS responses list every subscribed resource that exists, so a missing one reads as
        // "does not exist" at once (grpc-java would otherwise wait 15 s); RDS and EDS keep ADS's
        // all-names-present rule, where a missing name is not a deletion.
        String type = request.getTypeUrl();
        boolean wholeSet = type.equals(io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL)
                || type.equals(io.envoyproxy.controlplane.cache.Resources.V3.CLUSTER_TYPE_URL);
        return cache.createWatch(ads && !wholeSet, request, knownResourceNames, responseConsumer, hasClusterChanged,
                allowDefaultEmptyEdsUpdate);
    }

    @Override
    public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
                                       Map<String, String> resourceVersions, Set<String> pendingResources,
                                       boolean isWildcard, Consumer<DeltaResponse> responseConsumer,
                                       boolean hasClusterChanged) {
        ProxyTracker.RequestContext ctx = tracker.takeRequestContext();
        if (ctx != null && ctx.node() != null && !request.v3Request().hasNode()) {
            request = DeltaXdsRequest.create(request.v3Request().toBuilder().setNode(ctx.node()).build());
        }
        return cache.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
                responseConsumer, hasClusterChanged);
    }
}
