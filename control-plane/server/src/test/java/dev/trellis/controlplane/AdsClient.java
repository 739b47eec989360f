package dev.trellis.controlplane;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A raw ADS client over the generated stub: sends requests by hand and keeps responses per type. */
final class AdsClient implements AutoCloseable {
    static final String LDS = Resources.V3.LISTENER_TYPE_URL;
    static final String RDS = Resources.V3.ROUTE_TYPE_URL;
    static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
    static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;

    private final StreamObserver<DiscoveryRequest> requests;
    private final Map<String, LinkedBlockingQueue<DiscoveryResponse>> responses = new ConcurrentHashMap<>();
    private final Node node;
    volatile Throwable error;
    /** Like Envoy's set_node_on_first_message_only: later requests leave the node out. */
    volatile boolean nodeOnFirstRequestOnly;
    private boolean sentNode;

    AdsClient(ManagedChannel channel, String nodeId, List<String> upstreams) {
        Struct.Builder md = Struct.newBuilder();
        if (!upstreams.isEmpty()) {
            md.putFields("TRELLIS_UPSTREAMS", Value.newBuilder().setStringValue(String.join(",", upstreams)).build());
        }
        node = Node.newBuilder().setId(nodeId).setCluster("test").setMetadata(md).build();
        requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse r) {
                queue(r.getTypeUrl()).add(r);
            }

            @Override
            public void onError(Throwable t) {
                error = t;
            }

            @Override
            public void onCompleted() {
            }
        });
    }

    private LinkedBlockingQueue<DiscoveryResponse> queue(String type) {
        return responses.computeIfAbsent(type, k -> new LinkedBlockingQueue<>());
    }

    /** Subscribes (or re-subscribes) to {@code names} of {@code type} (empty: wildcard), ACKing {@code last}. */
    synchronized void request(String type, List<String> names, DiscoveryResponse last) {
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setTypeUrl(type).addAllResourceNames(names);
        if (!nodeOnFirstRequestOnly || !sentNode) b.setNode(node);
        sentNode = true;
        if (last != null) b.setVersionInfo(last.getVersionInfo()).setResponseNonce(last.getNonce());
        requests.onNext(b.build());
    }

    void ack(DiscoveryResponse r, List<String> names) {
        request(r.getTypeUrl(), names, r);
    }

    /** Rejects {@code r}, keeping {@code previous} (may be null) as the accepted version. */
    synchronized void nack(DiscoveryResponse r, DiscoveryResponse previous, List<String> names, String message) {
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(r.getTypeUrl())
                .addAllResourceNames(names).setResponseNonce(r.getNonce())
                .setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage(message));
        if (previous != null) b.setVersionInfo(previous.getVersionInfo());
        requests.onNext(b.build());
    }

    DiscoveryResponse next(String type) throws InterruptedException {
        DiscoveryResponse r = queue(type).poll(10, TimeUnit.SECONDS);
        if (r == null) throw new AssertionError("no " + type + " response within 10 s" + (error == null ? "" : ": " + error));
        return r;
    }

    DiscoveryResponse poll(String type, long millis) throws InterruptedException {
        return queue(type).poll(millis, TimeUnit.MILLISECONDS);
    }

    static <T extends com.google.protobuf.Message> List<T> unpack(DiscoveryResponse r, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Any a : r.getResourcesList()) {
            try {
                out.add(a.unpack(type));
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    static List<String> endpoints(DiscoveryResponse eds) {
        List<String> out = new ArrayList<>();
        for (ClusterLoadAssignment cla : unpack(eds, ClusterLoadAssignment.class)) {
            cla.getEndpointsList().forEach(l -> l.getLbEndpointsList().forEach(e -> {
                var sa = e.getEndpoint().getAddress().getSocketAddress();
                out.add(cla.getClusterName() + "=" + sa.getAddress() + ":" + sa.getPortValue());
            }));
        }
        out.sort(null);
        return out;
    }

    @Override
    public void close() {
        try {
            requests.onCompleted();
        } catch (RuntimeException ignored) {
            // already closed
        }
    }
}
