package dev.trellis.sidecar.xds;

import com.google.protobuf.Message;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An xDS v3 ADS client (state of the world) for one node: subscribes to LDS and CDS (all), then
 * to the RDS names its listeners use and the EDS names of its EDS clusters; hands each response,
 * merged into the resources it holds, to a {@link Handler}, which accepts it (ACK) or refuses it
 * with a reason (NACK, the previous resources stay). The stream is re-opened after any failure
 * with {@link Backoff}, and a re-opened stream resyncs everything.
 *
 * <p>When the control plane comes back as a new process (the boot prefix of its versions,
 * {@code <boot>.<n>}, changed), its responses are left unanswered for {@code restartSettle}, so
 * the sidecar keeps its endpoints while the other sidecars re-register with the fresh registry;
 * then they are dropped and a new stream fetches the settled state. Everything runs on one {@link Scheduler}; public methods may be called from any thread.
 */
public final class AdsClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdsClient.class);
    private static final String HCM_TYPE = "type.googleapis.com/" + HttpConnectionManager.getDescriptor().getFullName();

    /** Decides on each response; called on the client's scheduler. */
    public interface Handler {
        /**
         * {@code candidate} is what the client would hold after accepting a response of type
         * {@code changed}. Returns an error (the NACK's {@code error_detail}) to refuse it.
         */
        Optional<String> accept(XdsResources candidate, XdsType changed);
    }

    private final ManagedChannel channel;
    private final AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub;
    private final Node node;
    private final Handler handler;
    private final Scheduler scheduler;
    private final Backoff backoff;
    private final Duration restartSettle;

    // confined to the scheduler
    private XdsResources resources = XdsResources.EMPTY;
    private final Map<XdsType, String> versions = new EnumMap<>(XdsType.class);
    private final Map<XdsType, Set<String>> names = new EnumMap<>(XdsType.class);
    private final Map<XdsType, String> nonces = new EnumMap<>(XdsType.class);
    private StreamObserver<DiscoveryRequest> requests;
    private int generation;
    private String bootId;
    private boolean holding;
    private final List<DiscoveryResponse> held = new ArrayList<>();
    private Future<?> retry;

    private volatile boolean closed;
    private volatile boolean connected;
    private volatile String lastNack;
    private final AtomicLong acks = new AtomicLong();
    private final AtomicLong nacks = new AtomicLong();
    private final AtomicLong streams = new AtomicLong();
    /** The sequence number ({@code <boot>.<n>}) of each type's last accepted version, for metrics. */
    private final Map<XdsType, AtomicLong> acceptedSequence = new EnumMap<>(XdsType.class);

    {
        for (XdsType t : XdsType.values()) {
            acceptedSequence.put(t, new AtomicLong(-1));
        }
    }

    public AdsClient(ManagedChannel channel, Node node, Handler handler, Scheduler scheduler, Backoff backoff,
                     Duration restartSettle) {
        this.channel = Objects.requireNonNull(channel);
        this.stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
        this.node = Objects.requireNonNull(node);
        this.handler = Objects.requireNonNull(handler);
        this.scheduler = Objects.requireNonNull(scheduler);
        this.backoff = Objects.requireNonNull(backoff);
        this.restartSettle = Objects.requireNonNull(restartSettle);
    }

    /** Opens the first stream. */
    public void start() {
        scheduler.execute(this::connect);
    }

    /** True while a stream is open and has delivered a response. */
    public boolean connected() {
        return connected;
    }

    /** The error of the last NACK sent, if any. */
    public Optional<String> lastNack() {
        return Optional.ofNullable(lastNack);
    }

    public long acks() {
        return acks.get();
    }

    public long nacks() {
        return nacks.get();
    }

    /**
     * Registers {@code trellis_control_plane_connected} (1 while a stream delivers),
     * {@code trellis_config_updates_total{result=accepted|rejected}} (xDS responses ACKed or NACKed)
     * and {@code trellis_config_version{type}}: the {@code n} of the control plane's
     * {@code <boot>.<n>} version last accepted per type (NaN before the first).
     */
    public void registerMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
        io.micrometer.core.instrument.Gauge.builder("trellis_control_plane_connected", this, c -> c.connected ? 1 : 0)
                .description("1 while the xDS stream to the control plane is open and has delivered").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("trellis_config_updates", acks, AtomicLong::doubleValue)
                .description("xDS responses accepted (ACK) or rejected (NACK)").tag("result", "accepted").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("trellis_config_updates", nacks, AtomicLong::doubleValue)
                .description("xDS responses accepted (ACK) or rejected (NACK)").tag("result", "rejected").register(registry);
        acceptedSequence.forEach((type, seq) -> io.micrometer.core.instrument.Gauge.builder("trellis_config_version", seq,
                        v -> v.get() < 0 ? Double.NaN : v.get())
                .description("Sequence number n of the control plane's version <boot>.<n> last accepted, by xDS type")
                .tag("type", type.name()).register(registry));
    }

    /** Streams opened so far (1 + reconnects). */
    public long streams() {
        return streams.get();
    }

    private void connect() {
        if (closed) {
            return;
        }
        retry = null;
        int gen = ++generation;
        streams.incrementAndGet();
        nonces.clear();
        // our backoff decides when to try; don't let the channel's own (up to 2 min) delay it further
        channel.resetConnectBackoff();
        requests = stub.streamAggregatedResources(new CurrentCallObserver<>(scheduler, () -> generation, gen,
                this::onResponse, this::ended));
        // a new stream starts from empty versions: the server answers with everything (resync)
        for (XdsType t : XdsType.values()) {
            if (!t.named() || !names.getOrDefault(t, Set.of()).isEmpty()) {
                send(t, "", "", null);
            }
        }
    }

    private void ended(Throwable t) {
        connected = false;
        requests = null;
        holding = false;
        held.clear();
        generation++;
        if (closed) {
            return;
        }
        Duration wait = backoff.next();
        String why = t == null ? "stream completed by the server" : String.valueOf(io.grpc.Status.fromThrowable(t));
        if (backoff.attempts() == 1) {
            log.warn("xDS stream to the control plane ended ({}); keeping the last good config, retrying in {} ms",
                    why, wait.toMillis());
        } else {
            log.debug("xDS reconnect attempt {} failed ({}); next in {} ms", backoff.attempts() - 1, why, wait.toMillis());
        }
        retry = scheduler.schedule(this::connect, wait);
    }

    private void onResponse(DiscoveryResponse r) {
        XdsType type = XdsType.of(r.getTypeUrl());
        if (type == null) {
            log.warn("xDS response of unsubscribed type '{}' ignored", r.getTypeUrl());
            return;
        }
        if (!connected) {
            connected = true;
            backoff.reset();
        }
        // the server ignores a request that does not carry the latest nonce of its type
        nonces.put(type, r.getNonce());
        if (holding) {
            held.add(r);
            return;
        }
        String boot = boot(r.getVersionInfo());
        if (bootId != null && boot != null && !boot.equals(bootId) && !restartSettle.isZero()) {
            log.info("control plane restarted (versions {} -> {}): holding updates for {} ms while instances re-register",
                    bootId, boot, restartSettle.toMillis());
            holding = true;
            held.add(r);
            int gen = generation;
            scheduler.schedule(() -> release(gen), restartSettle);
            return;
        }
        handle(type, r);
    }

    private void release(int gen) {
        if (gen != generation || !holding) {
            return;
        }
        holding = false;
        // What was held is the new process' view before the instances re-registered (a service of
        // ours with no endpoints yet): applying it would blackhole traffic. Drop it and subscribe
        // afresh on a new stream, which gets the state as it is now.
        String boot = boot(held.get(0).getVersionInfo());
        held.clear();
        bootId = boot;
        StreamObserver<DiscoveryRequest> old = requests;
        log.info("control plane {}: settled, resubscribing", boot);
        connect();
        if (old != null) {
            old.onError(io.grpc.Status.CANCELLED.withDescription("resubscribing after the control plane restarted")
                    .asRuntimeException());
        }
    }

    /** {@code <boot>.<n>} -> {@code n}; -1 when the version has no such form. */
    static long sequence(String version) {
        int dot = version.lastIndexOf('.');
        try {
            return dot > 0 ? Long.parseLong(version.substring(dot + 1)) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** {@code <boot>.<n>} -> {@code <boot>}; null when the version has no such prefix. */
    static String boot(String version) {
        int dot = version.indexOf('.');
        return dot > 0 ? version.substring(0, dot) : null;
    }

    private void handle(XdsType type, DiscoveryResponse r) {
        Map<String, Message> byName = new LinkedHashMap<>();
        String error = null;
        for (int i = 0; i < r.getResourcesCount() && error == null; i++) {
            try {
                Message m = type.unpack(r.getResources(i));
                String name = XdsType.nameOf(m);
                if (byName.put(name, m) != null) {
                    error = type + " resources[" + i + "]: name '" + name + "' twice in one response (expected: unique names)";
                }
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                error = type + " resources[" + i + "]: " + e.getMessage();
            }
        }
        XdsResources candidate = error == null ? resources.with(type, byName) : null;
        if (error == null) {
            try {
                error = handler.accept(candidate, type).orElse(null);
            } catch (RuntimeException e) {
                log.warn("xDS {} version {}: handler failed", type, r.getVersionInfo(), e);
                error = type + " version " + r.getVersionInfo() + ": " + e;
            }
        }
        if (error != null) {
            lastNack = error;
            nacks.incrementAndGet();
            log.warn("NACK {} version {}: {}", type, r.getVersionInfo(), error);
            send(type, versions.getOrDefault(type, ""), r.getNonce(), error);
            return;
        }
        resources = candidate;
        versions.put(type, r.getVersionInfo());
        acceptedSequence.get(type).set(sequence(r.getVersionInfo()));
        String b = boot(r.getVersionInfo());
        if (b != null) {
            bootId = b;
        }
        acks.incrementAndGet();
        log.debug("ACK {} version {} ({} resources)", type, r.getVersionInfo(), byName.size());
        send(type, r.getVersionInfo(), r.getNonce(), null);
        if (type == XdsType.LDS) {
            subscribe(XdsType.RDS, routeNames(resources.listeners().values()));
        } else if (type == XdsType.CDS) {
            subscribe(XdsType.EDS, edsNames(resources.clusters().values()));
        }
    }

    private void subscribe(XdsType type, Set<String> want) {
        if (want.equals(names.getOrDefault(type, Set.of()))) {
            return;
        }
        names.put(type, want);
        // an empty list would mean "everything" on a state-of-the-world stream: ask for nothing instead
        if (!want.isEmpty() || versions.containsKey(type)) {
            send(type, versions.getOrDefault(type, ""), nonces.getOrDefault(type, ""), null);
        }
    }

    private void send(XdsType type, String version, String nonce, String error) {
        if (requests == null) {
            return;
        }
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(type.typeUrl())
                .setVersionInfo(version)
                .setResponseNonce(nonce)
                .addAllResourceNames(type.named() ? names.getOrDefault(type, Set.of()) : Set.of());
        if (error != null) {
            b.setErrorDetail(Status.newBuilder().setCode(io.grpc.Status.Code.INVALID_ARGUMENT.value()).setMessage(error));
        }
        requests.onNext(b.build());
    }

    /** RDS names used by the listeners' HTTP connection managers. */
    public static Set<String> routeNames(Iterable<Listener> listeners) {
        Set<String> out = new TreeSet<>();
        for (Listener l : listeners) {
            for (FilterChain fc : l.getFilterChainsList()) {
                for (Filter f : fc.getFiltersList()) {
                    if (f.hasTypedConfig() && f.getTypedConfig().getTypeUrl().equals(HCM_TYPE)) {
                        try {
                            HttpConnectionManager h = f.getTypedConfig().unpack(HttpConnectionManager.class);
                            if (h.hasRds() && !h.getRds().getRouteConfigName().isEmpty()) {
                                out.add(h.getRds().getRouteConfigName());
                            }
                        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                            // the handler refuses the listener with the reason
                        }
                    }
                }
            }
        }
        return out;
    }

    /** EDS names of the EDS clusters: {@code service_name}, or the cluster name. */
    public static Set<String> edsNames(Iterable<Cluster> clusters) {
        Set<String> out = new TreeSet<>();
        for (Cluster c : clusters) {
            if (c.getType() == Cluster.DiscoveryType.EDS) {
                out.add(edsName(c));
            }
        }
        return out;
    }

    public static String edsName(Cluster c) {
        String s = c.getEdsClusterConfig().getServiceName();
        return s.isEmpty() ? c.getName() : s;
    }

    /** Ends the stream; the resources already applied stay. */
    @Override
    public void close() {
        closed = true;
        scheduler.execute(() -> {
            if (retry != null) {
                retry.cancel(false);
            }
            if (requests instanceof ClientCallStreamObserver<DiscoveryRequest> c) {
                c.cancel("sidecar closing", null);
            }
            requests = null;
            connected = false;
            generation++;
        });
    }
}
