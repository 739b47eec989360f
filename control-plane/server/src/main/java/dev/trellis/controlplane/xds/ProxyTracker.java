package dev.trellis.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.trellis.controlplane.registry.RemovalTracker;
import dev.trellis.controlplane.registry.Scheduler;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows every xDS stream: which node it is, what was sent (version, nonce) and what the proxy
 * ACKed or NACKed, per resource type. It also remembers the endpoints each proxy has ACKed, so a
 * deregistering instance can learn when no proxy routes to it any more.
 */
public final class ProxyTracker implements DiscoveryServerCallbacks, RemovalTracker {
    private static final Logger log = LoggerFactory.getLogger(ProxyTracker.class);
    private static final int MAX_PENDING = 16;

    private final Clock clock;
    private final Scheduler scheduler;
    private final MeterRegistry meters;
    private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
    /**
     * Open streams that named their node, by node id. A node is gone when its count reaches 0; the
     * count and the onNode/onNodeGone calls change together under this lock, so a proxy that opens
     * a new stream before closing its old one (a resubscribe) is never dropped in between.
     */
    private final Map<String, Integer> namedStreams = new HashMap<>();
    private final List<Waiter> waiters = new CopyOnWriteArrayList<>();
    private final Map<String, Map<String, long[]>> changeStarts = new ConcurrentHashMap<>();
    private final Timer changeToAck;
    /** Per change (its start), the node/type/version pushes not ACKed yet: the last ACK ends the push. */
    private final Map<Long, Set<String>> unacked = new ConcurrentHashMap<>();
    private final Timer pushLatency;
    /** What the request being handled on this thread needs from {@link StreamAwareWatcher}; set by the callback. */
    private final ThreadLocal<RequestContext> current = new ThreadLocal<>();

    /** The stream's node (for requests that omit it) and, for a NACK, the version the proxy rejected. */
    record RequestContext(io.envoyproxy.envoy.config.core.v3.Node node, String rejectedVersion) {}
    private volatile Consumer<ProxyNode> onNode = n -> { };
    private volatile Consumer<String> onNodeGone = n -> { };

    public ProxyTracker(Clock clock, Scheduler scheduler, MeterRegistry meters) {
        this.clock = clock;
        this.scheduler = scheduler;
        this.meters = meters;
        meters.gauge("trellis_xds_connected_proxies", streams, Map::size);
        this.changeToAck = Timer.builder("trellis_xds_change_to_ack")
                .description("time from a registry or policy change to a proxy's ACK of the resulting push")
                .publishPercentileHistogram().register(meters);
        this.pushLatency = Timer.builder("trellis_xds_push_latency")
                .description("time from a registry or policy change to the last ACK of the proxies it was pushed to")
                .publishPercentileHistogram().register(meters);
    }

    /** Called (on the gRPC thread, before the first response) when a stream names its node. */
    void onNode(Consumer<ProxyNode> listener) {
        this.onNode = listener;
    }

    /** Called when the last stream of a node closes. */
    void onNodeGone(Consumer<String> listener) {
        this.onNodeGone = listener;
    }

    static String shortType(String typeUrl) {
        return switch (typeUrl) {
            case Resources.V3.LISTENER_TYPE_URL -> "LDS";
            case Resources.V3.ROUTE_TYPE_URL -> "RDS";
            case Resources.V3.CLUSTER_TYPE_URL -> "CDS";
            case Resources.V3.ENDPOINT_TYPE_URL -> "EDS";
            case Resources.V3.SECRET_TYPE_URL -> "SDS";
            default -> typeUrl;
        };
    }

    /**
     * One response awaiting its ACK. State of the world: {@code endpoints} is every endpoint in it.
     * Delta: {@code updated} load assignments (name -> endpoints) and {@code removed} names.
     */
    private record Sent(String version, Instant at, Set<String> endpoints, Map<String, Set<String>> updated,
                        List<String> removed) {}

    private static final class TypeState {
        String sent;
        Instant sentAt;
        String acked;
        Instant ackedAt;
        String nackedVersion;
        String nackError;
        Instant nackedAt;
        final Map<String, Sent> pending = new LinkedHashMap<>();
    }

    private static final class Stream {
        final long id;
        final Instant since;
        volatile ProxyNode node;
        volatile io.envoyproxy.envoy.config.core.v3.Node nodeProto;
        final Map<String, TypeState> types = new TreeMap<>();
        Set<String> ackedEndpoints = Set.of();
        /** Delta streams: the load assignments the proxy has ACKed, by name. */
        final Map<String, Set<String>> deltaEndpoints = new HashMap<>();

        Stream(long id, Instant since) {
            this.id = id;
            this.since = since;
        }
    }

    @Override
    public void onStreamOpen(long streamId, String typeUrl) {
        streams.put(streamId, new Stream(streamId, clock.instant()));
    }

    private Stream stream(long streamId, boolean hasNode, io.envoyproxy.envoy.config.core.v3.Node nodeProto) {
        Stream s = streams.computeIfAbsent(streamId, id -> new Stream(id, clock.instant()));
        if (s.node == null && hasNode) {
            ProxyNode node = ProxyNode.of(nodeProto);
            s.nodeProto = nodeProto;
            log.info("xDS stream {} from {} ({})", streamId, node.id(), node.type());
            synchronized (namedStreams) {
                s.node = node;
                // a stream closed meanwhile was not counted and must not bring its node back
                if (streams.get(streamId) == s) {
                    namedStreams.merge(node.id(), 1, Integer::sum);
                    onNode.accept(node);
                }
            }
        }
        return s;
    }

    @Override
    public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
        Stream s = stream(streamId, request.hasNode(), request.getNode());
        current.set(new RequestContext(s.nodeProto, null));
        String type = shortType(request.getTypeUrl());
        if (request.getResponseNonce().isEmpty()) return;
        boolean check = false;
        synchronized (s) {
            TypeState t = s.types.computeIfAbsent(type, k -> new TypeState());
            Sent sent = t.pending.remove(request.getResponseNonce());
            if (request.hasErrorDetail()) {
                if (sent != null) current.set(new RequestContext(s.nodeProto, sent.version()));
                t.nackedVersion = sent != null ? sent.version() : "?";
                t.nackError = request.getErrorDetail().getMessage();
                t.nackedAt = clock.instant();
                Counter.builder("trellis_xds_nacks_total").tag("type", type).register(meters).increment();
                log.warn("{} NACKed {} version {}: {}", nodeId(s), type, t.nackedVersion, t.nackError);
            } else if (sent != null) {
                t.acked = sent.version();
                t.ackedAt = clock.instant();
                t.nackedVersion = null;
                t.nackError = null;
                t.nackedAt = null;
                recordAck(s, request.getTypeUrl(), sent.version());
                if (sent.endpoints() != null) {
                    s.ackedEndpoints = sent.endpoints();
                    check = true;
                }
            }
        }
        if (check) checkWaiters();
    }

    /** The context the callback saw for the request now being handled on this thread (then forgets it). */
    RequestContext takeRequestContext() {
        RequestContext c = current.get();
        current.remove();
        return c;
    }

    private void recordAck(Stream s, String typeUrl, String version) {
        if (s.node == null) return;
        Map<String, long[]> byType = changeStarts.get(s.node.id());
        if (byType == null) return;
        long[] v = byType.get(typeUrl + "@" + version);
        if (v != null) {
            byType.remove(typeUrl + "@" + version);
            changeToAck.record(Duration.ofNanos(System.nanoTime() - v[0]));
            settle(v[0], s.node.id() + "|" + typeUrl + "@" + version, true);
        }
    }

    /** One push of change {@code start} is over: ACKed, superseded or its proxy gone. */
    private void settle(long start, String key, boolean acked) {
        Set<String> left = unacked.get(start);
        if (left != null && left.remove(key) && left.isEmpty() && unacked.remove(start, left) && acked) {
            pushLatency.record(Duration.ofNanos(System.nanoTime() - start));
        }
    }

    /** Remembers when the change behind {@code version} of {@code typeUrl} for {@code nodeId} started. */
    void changePushed(String nodeId, String typeUrl, String version, long changeStartNanos) {
        Map<String, long[]> m = changeStarts.computeIfAbsent(nodeId, k -> new ConcurrentHashMap<>());
        m.entrySet().removeIf(e -> {
            boolean superseded = e.getKey().startsWith(typeUrl + "@");
            if (superseded) settle(e.getValue()[0], nodeId + "|" + e.getKey(), false);
            return superseded;
        });
        unacked.computeIfAbsent(changeStartNanos, k -> ConcurrentHashMap.newKeySet()).add(nodeId + "|" + typeUrl + "@" + version);
        m.put(typeUrl + "@" + version, new long[] {changeStartNanos});
    }

    @Override
    public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
        Stream s = stream(streamId, request.hasNode(), request.getNode());
        current.set(new RequestContext(s.nodeProto, null));
        String type = shortType(request.getTypeUrl());
        if (request.getResponseNonce().isEmpty()) return;
        boolean check = false;
        synchronized (s) {
            TypeState t = s.types.computeIfAbsent(type, k -> new TypeState());
            Sent sent = t.pending.remove(request.getResponseNonce());
            if (request.hasErrorDetail()) {
                t.nackedVersion = sent != null ? sent.version() : "?";
                t.nackError = request.getErrorDetail().getMessage();
                t.nackedAt = clock.instant();
                Counter.builder("trellis_xds_nacks_total").tag("type", type).register(meters).increment();
                log.warn("{} NACKed {} (delta) version {}: {}", nodeId(s), type, t.nackedVersion, t.nackError);
            } else if (sent != null) {
                t.acked = sent.version();
                t.ackedAt = clock.instant();
                t.nackedVersion = null;
                t.nackError = null;
                t.nackedAt = null;
                recordAck(s, request.getTypeUrl(), sent.version());
                if (sent.updated() != null) {
                    s.deltaEndpoints.putAll(sent.updated());
                    sent.removed().forEach(s.deltaEndpoints::remove);
                    Set<String> all = new HashSet<>();
                    s.deltaEndpoints.values().forEach(all::addAll);
                    s.ackedEndpoints = Set.copyOf(all);
                    check = true;
                }
            }
        }
        if (check) checkWaiters();
    }

    @Override
    public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request,
                                        io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse response) {
        Stream s = streams.get(streamId);
        if (s == null) return;
        String type = shortType(response.getTypeUrl());
        Map<String, Set<String>> updated = null;
        if (type.equals("EDS")) {
            updated = new HashMap<>();
            for (io.envoyproxy.envoy.service.discovery.v3.Resource r : response.getResourcesList()) {
                updated.put(r.getName(), endpoints(List.of(r.getResource())));
            }
        }
        synchronized (s) {
            TypeState t = s.types.computeIfAbsent(type, k -> new TypeState());
            t.sent = response.getSystemVersionInfo();
            t.sentAt = clock.instant();
            t.pending.put(response.getNonce(), new Sent(response.getSystemVersionInfo(), t.sentAt, null, updated,
                    List.copyOf(response.getRemovedResourcesList())));
            while (t.pending.size() > MAX_PENDING) {
                t.pending.remove(t.pending.keySet().iterator().next());
            }
        }
        Counter.builder("trellis_xds_pushes_total").tag("type", type).register(meters).increment();
    }

    @Override
    public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
        Stream s = streams.get(streamId);
        if (s == null) return;
        String type = shortType(response.getTypeUrl());
        Set<String> endpoints = type.equals("EDS") ? endpoints(response.getResourcesList()) : null;
        synchronized (s) {
            TypeState t = s.types.computeIfAbsent(type, k -> new TypeState());
            t.sent = response.getVersionInfo();
            t.sentAt = clock.instant();
            t.pending.put(response.getNonce(), new Sent(response.getVersionInfo(), t.sentAt, endpoints, null, null));
            while (t.pending.size() > MAX_PENDING) {
                t.pending.remove(t.pending.keySet().iterator().next());
            }
        }
        Counter.builder("trellis_xds_pushes_total").tag("type", type).register(meters).increment();
    }

    private static Set<String> endpoints(List<Any> resources) {
        Set<String> out = new HashSet<>();
        for (Any a : resources) {
            try {
                ClusterLoadAssignment cla = a.unpack(ClusterLoadAssignment.class);
                for (LocalityLbEndpoints l : cla.getEndpointsList()) {
                    for (LbEndpoint e : l.getLbEndpointsList()) {
                        // by instance id, so a new instance on the same address:port is not taken for the old one
                        var md = e.getMetadata().getFilterMetadataOrDefault(Translator.METADATA, null);
                        if (md != null && md.containsFields("instance_id")) {
                            out.add(md.getFieldsOrThrow("instance_id").getStringValue());
                        } else {
                            var sa = e.getEndpoint().getAddress().getSocketAddress();
                            out.add(endpointKey(sa.getAddress(), sa.getPortValue()));
                        }
                    }
                }
            } catch (InvalidProtocolBufferException e) {
                log.warn("cannot read a ClusterLoadAssignment we sent", e);
            }
        }
        return Set.copyOf(out);
    }

    static String endpointKey(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public void onStreamClose(long streamId, String typeUrl) {
        closed(streamId);
    }

    @Override
    public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
        closed(streamId);
    }

    private void closed(long streamId) {
        synchronized (namedStreams) {
            Stream s = streams.remove(streamId);
            if (s != null && s.node != null) {
                String id = s.node.id();
                log.info("xDS stream {} from {} closed", streamId, id);
                if (namedStreams.merge(id, -1, Integer::sum) == 0) {
                    namedStreams.remove(id);
                    Map<String, long[]> gone = changeStarts.remove(id);
                    if (gone != null) gone.forEach((k, v) -> settle(v[0], id + "|" + k, false));
                    onNodeGone.accept(id);
                }
            }
        }
        checkWaiters();
    }

    /** Every connected stream, by node id. */
    public List<ProxyStatus> proxies() {
        List<ProxyStatus> out = new ArrayList<>();
        for (Stream s : streams.values()) {
            ProxyNode n = s.node;
            Map<String, ProxyStatus.TypeStatus> types = new TreeMap<>();
            ProxyStatus.State state = ProxyStatus.State.SYNCED;
            synchronized (s) {
                for (Map.Entry<String, TypeState> e : s.types.entrySet()) {
                    TypeState t = e.getValue();
                    types.put(e.getKey(), new ProxyStatus.TypeStatus(t.sent, t.sentAt, t.acked, t.ackedAt,
                            t.nackedVersion, t.nackError, t.nackedAt));
                    if (t.nackError != null) {
                        state = ProxyStatus.State.NACKED;
                    } else if (t.sent != null && !t.sent.equals(t.acked) && state != ProxyStatus.State.NACKED) {
                        state = ProxyStatus.State.STALE;
                    }
                }
            }
            out.add(new ProxyStatus(n == null ? "" : n.id(), n == null ? "" : n.type().name().toLowerCase(java.util.Locale.ROOT),
                    n == null ? "" : n.service(), n == null ? "" : n.instanceId(), s.id, s.since, types, state));
        }
        out.sort(java.util.Comparator.comparing(ProxyStatus::nodeId).thenComparing(ProxyStatus::streamId));
        return out;
    }

    private static String nodeId(Stream s) {
        return s.node == null ? "stream " + s.id : s.node.id();
    }

    // --- removal acknowledgements ---

    private final class Waiter {
        final String endpoint;
        final CompletableFuture<Result> future = new CompletableFuture<>();
        final long startNanos = System.nanoTime();
        volatile Runnable cancelTimer = () -> { };

        Waiter(String endpoint) {
            this.endpoint = endpoint;
        }

        List<String> pending() {
            List<String> p = new ArrayList<>();
            for (Stream s : streams.values()) {
                if (s.ackedEndpoints.contains(endpoint)) p.add(nodeId(s));
            }
            return p;
        }

        Duration waited() {
            return Duration.ofNanos(System.nanoTime() - startNanos);
        }
    }

    @Override
    public CompletableFuture<Result> awaitRemoval(String endpoint, Duration bound) {
        Waiter w = new Waiter(endpoint);
        waiters.add(w);
        w.cancelTimer = scheduler.schedule(() -> {
            if (waiters.remove(w)) {
                List<String> pending = w.pending();
                log.warn("removal of {} not ACKed by {} within {}", endpoint, pending, bound);
                w.future.complete(new Result(pending.isEmpty(), pending, w.waited()));
            }
        }, bound);
        // the push that removes it is debounced; checking now only completes when nobody had it
        checkWaiters();
        return w.future;
    }

    private void checkWaiters() {
        for (Waiter w : waiters) {
            if (w.pending().isEmpty() && waiters.remove(w)) {
                w.cancelTimer.run();
                log.info("removal of {} ACKed by every proxy after {}", w.endpoint, w.waited());
                w.future.complete(new Result(true, List.of(), w.waited()));
            }
        }
    }
}
