package dev.trellis.bench.cp;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.trellis.controlplane.api.v1.HealthReport;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.RegistrationGrpc;
import dev.trellis.controlplane.api.v1.RegistrationRequest;
import dev.trellis.controlplane.api.v1.RegistrationResponse;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * One simulated sidecar on its own gRPC connection: registers its instance over the Registration
 * API and reports it healthy, then subscribes over ADS (state of the world) as Envoy does: CDS and
 * LDS as wildcards, EDS for the EDS clusters CDS named, RDS for the route configurations LDS
 * named; every response is ACKed (the new EDS/RDS subscription goes out after the CDS/LDS ACK, as
 * Envoy's ADS mux orders them). It keeps just enough of each response to tell when its config is
 * complete and when a probed change has arrived.
 */
final class SimulatedProxy {
    static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
    static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    private static final String HCM_TYPE = "type.googleapis.com/"
            + HttpConnectionManager.getDescriptor().getFullName();

    /** What the run wants to hear about. Called on gRPC threads. */
    interface Listener {
        void synced(SimulatedProxy p);

        void probeAcked(SimulatedProxy p);

        void failed(SimulatedProxy p, Throwable error);
    }

    /** A change to look for: the route timeout of {@code service}'s virtual host became {@code timeoutSeconds}. */
    record Probe(String service, long timeoutSeconds, long startNanos) {}

    final Topology.Proxy spec;
    private final ManagedChannel channel;
    private final Map<String, Integer> expectedEndpoints;
    private final Listener listener;
    private final Node node;
    private StreamObserver<RegistrationRequest> registration;
    private StreamObserver<DiscoveryRequest> ads;
    final CompletableFuture<Void> registered = new CompletableFuture<>();

    private final Map<String, String> versions = new HashMap<>();
    private final Map<String, String> nonces = new HashMap<>();
    private Set<String> edsNames = Set.of();
    private Set<String> rdsNames = Set.of();
    private final Map<String, Integer> endpointCounts = new HashMap<>();
    private final Set<String> virtualHosts = new TreeSet<>();

    private volatile long adsStartNanos;
    private volatile long syncedNanos;
    private Probe probe;
    private volatile long probeAckNanos;
    private int responsesSinceMark;
    private int responses;
    private static final int MAX_REGISTER_ATTEMPTS = 5;
    private volatile int registerAttempts;

    /**
     * @param expectedEndpoints per service, how many instances its EDS cluster must list before this
     *                          proxy counts as synced
     */
    SimulatedProxy(Topology.Proxy spec, ManagedChannel channel, Map<String, Integer> expectedEndpoints, Listener listener) {
        this.spec = spec;
        this.channel = channel;
        this.expectedEndpoints = expectedEndpoints;
        this.listener = listener;
        ListValue.Builder ups = ListValue.newBuilder();
        spec.upstreams().forEach(u -> ups.addValues(Value.newBuilder().setStringValue(u)));
        Struct md = Struct.newBuilder()
                .putFields("TRELLIS_OUTBOUND_PORT", Value.newBuilder().setNumberValue(15001).build())
                .putFields("TRELLIS_INBOUND_PORT", Value.newBuilder().setNumberValue(15006).build())
                .putFields("TRELLIS_APP_PORT", Value.newBuilder().setNumberValue(8080).build())
                .putFields("TRELLIS_UPSTREAMS", Value.newBuilder().setListValue(ups).build())
                .build();
        node = Node.newBuilder().setId(spec.nodeId()).setCluster(spec.service()).setMetadata(md)
                .setUserAgentName("trellis-cp-scale").build();
    }

    /** Opens the registration call; {@link #registered} completes once the instance is registered and reported healthy. */
    synchronized void register() {
        registerAttempts++;
        registration = RegistrationGrpc.newStub(channel).register(new StreamObserver<>() {
            @Override
            public void onNext(RegistrationResponse r) {
                if (r.hasRegistered()) {
                    synchronized (SimulatedProxy.this) {
                        registration.onNext(RegistrationRequest.newBuilder()
                                .setHealth(HealthReport.newBuilder().setStatus(HealthStatus.HEALTHY)).build());
                    }
                    registered.complete(null);
                }
            }

            @Override
            public void onError(Throwable t) {
                // as a sidecar does: a connection that could not be made (a TLS handshake that timed
                // out on a busy machine) is tried again after a second, a few times
                if (!registered.isDone() && io.grpc.Status.fromThrowable(t).getCode() == io.grpc.Status.Code.UNAVAILABLE
                        && registerAttempts < MAX_REGISTER_ATTEMPTS) {
                    CompletableFuture.delayedExecutor(1, java.util.concurrent.TimeUnit.SECONDS).execute(SimulatedProxy.this::register);
                    return;
                }
                registered.completeExceptionally(t);
                listener.failed(SimulatedProxy.this, t);
            }

            @Override
            public void onCompleted() {
                registered.completeExceptionally(new IllegalStateException("registration call completed by the control plane"));
            }
        });
        registration.onNext(RegistrationRequest.newBuilder().setRegister(Instance.newBuilder()
                .setService(spec.service()).setInstanceId(spec.instanceId()).setAddress(spec.address())
                .setInboundPort(15006).setAppPort(8080).setProtocol("http")
                .putLabels("version", "v1").putLabels("zone", "zone-" + (spec.index() % 3))
                .addAllUpstreams(spec.upstreams())).build());
    }

    /** Opens the ADS stream and subscribes to CDS and LDS. */
    synchronized void subscribe() {
        adsStartNanos = System.nanoTime();
        ads = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse r) {
                response(r);
            }

            @Override
            public void onError(Throwable t) {
                listener.failed(SimulatedProxy.this, t);
            }

            @Override
            public void onCompleted() {
                listener.failed(SimulatedProxy.this, new IllegalStateException("ADS stream completed by the control plane"));
            }
        });
        send(CDS, Set.of());
        send(LDS, Set.of());
    }

    private void send(String type, Set<String> names) {
        ads.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
                .setVersionInfo(versions.getOrDefault(type, "")).setResponseNonce(nonces.getOrDefault(type, ""))
                .addAllResourceNames(names).build());
    }

    private void response(DiscoveryResponse r) {
        boolean justSynced = false;
        boolean probeDone = false;
        synchronized (this) {
            responses++;
            if (probe != null) responsesSinceMark++;
            String type = r.getTypeUrl();
            boolean sawProbe = false;
            Set<String> subscribeEds = null;
            Set<String> subscribeRds = null;
            try {
                switch (type) {
                    case CDS -> {
                        Set<String> names = new TreeSet<>();
                        for (Any a : r.getResourcesList()) {
                            Cluster c = a.unpack(Cluster.class);
                            if (c.getType() == Cluster.DiscoveryType.EDS) {
                                String n = c.getEdsClusterConfig().getServiceName();
                                names.add(n.isEmpty() ? c.getName() : n);
                            }
                        }
                        if (!names.equals(edsNames)) subscribeEds = names;
                    }
                    case EDS -> {
                        for (Any a : r.getResourcesList()) {
                            ClusterLoadAssignment cla = a.unpack(ClusterLoadAssignment.class);
                            int n = 0;
                            for (LocalityLbEndpoints l : cla.getEndpointsList()) n += l.getLbEndpointsCount();
                            endpointCounts.put(cla.getClusterName(), n);
                        }
                    }
                    case LDS -> {
                        Set<String> names = new TreeSet<>();
                        for (Any a : r.getResourcesList()) {
                            for (FilterChain fc : a.unpack(io.envoyproxy.envoy.config.listener.v3.Listener.class).getFilterChainsList()) {
                                for (Filter f : fc.getFiltersList()) {
                                    if (f.getTypedConfig().getTypeUrl().equals(HCM_TYPE)) {
                                        HttpConnectionManager h = f.getTypedConfig().unpack(HttpConnectionManager.class);
                                        if (h.hasRds()) names.add(h.getRds().getRouteConfigName());
                                    }
                                }
                            }
                        }
                        if (!names.equals(rdsNames)) subscribeRds = names;
                    }
                    case RDS -> {
                        virtualHosts.clear();
                        for (Any a : r.getResourcesList()) {
                            RouteConfiguration rc = a.unpack(RouteConfiguration.class);
                            for (VirtualHost vh : rc.getVirtualHostsList()) {
                                virtualHosts.add(vh.getName());
                                if (probe != null && vh.getName().equals(probe.service()) && hasTimeout(vh, probe.timeoutSeconds())) {
                                    sawProbe = true;
                                }
                            }
                        }
                    }
                    default -> {
                        // not subscribed: ACK and forget
                    }
                }
            } catch (InvalidProtocolBufferException e) {
                listener.failed(this, e);
                return;
            }
            versions.put(type, r.getVersionInfo());
            nonces.put(type, r.getNonce());
            send(type, type.equals(EDS) ? edsNames : type.equals(RDS) ? rdsNames : Set.of());
            long acked = System.nanoTime();
            if (subscribeEds != null) {
                edsNames = subscribeEds;
                endpointCounts.keySet().retainAll(edsNames);
                send(EDS, edsNames);
            }
            if (subscribeRds != null) {
                rdsNames = subscribeRds;
                send(RDS, rdsNames);
            }
            if (sawProbe && probeAckNanos == 0) {
                probeAckNanos = acked;
                probeDone = true;
            }
            if (syncedNanos == 0 && complete()) {
                syncedNanos = acked;
                justSynced = true;
            }
        }
        if (justSynced) listener.synced(this);
        if (probeDone) listener.probeAcked(this);
    }

    private static boolean hasTimeout(VirtualHost vh, long seconds) {
        for (Route route : vh.getRoutesList()) {
            if (route.hasRoute() && route.getRoute().getTimeout().getSeconds() == seconds
                    && route.getRoute().getTimeout().getNanos() == 0) {
                return true;
            }
        }
        return false;
    }

    /** Every type ACKed, every upstream's cluster with all its instances and a virtual host. */
    private boolean complete() {
        if (!versions.containsKey(CDS) || !versions.containsKey(LDS) || !versions.containsKey(EDS) || !versions.containsKey(RDS)) {
            return false;
        }
        for (String u : spec.upstreams()) {
            Integer n = endpointCounts.get("outbound|" + u);
            if (n == null || n != expectedEndpoints.getOrDefault(u, 0) || !virtualHosts.contains(u)) return false;
        }
        return true;
    }

    /** Starts looking for {@code p} in RDS responses and counts responses from now on. */
    synchronized void mark(Probe p) {
        probe = p;
        probeAckNanos = 0;
        responsesSinceMark = 0;
    }

    synchronized int responsesSinceMark() {
        return responsesSinceMark;
    }

    synchronized int responses() {
        return responses;
    }

    long adsStartNanos() {
        return adsStartNanos;
    }

    long syncedNanos() {
        return syncedNanos;
    }

    long probeAckNanos() {
        return probeAckNanos;
    }

    List<String> upstreams() {
        return spec.upstreams();
    }

    synchronized void close() {
        if (ads != null) {
            try {
                ads.onCompleted();
            } catch (RuntimeException e) {
                // the stream is gone already
            }
        }
        if (registration != null) {
            try {
                registration.onCompleted();
            } catch (RuntimeException e) {
                // the call is gone already
            }
        }
    }
}
