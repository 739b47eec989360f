package dev.trellis.controlplane.xds;

import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.registry.Registry;
import dev.trellis.controlplane.registry.ServiceInstance;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one snapshot per connected node in the xDS cache. Changes to the registry or the policy
 * are debounced (the first change starts a window; one recompute at its end) and each node's
 * resources are recomputed; a node gets a new snapshot only if its resources changed, and only
 * the changed types get a new version, so the cache pushes only to the proxies affected and
 * only the types that changed.
 */
public final class SnapshotPublisher {
    private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

    private final SimpleCache<String> cache = new SimpleCache<>(node -> node.getId());
    private final Registry registry;
    private final Supplier<MeshPolicy> policy;
    private final ProxyTracker tracker;
    private final ScheduledExecutorService executor;
    private final Duration debounce;
    private final Map<String, NodeState> nodes = new ConcurrentHashMap<>();
    /** Versions start with a per-boot prefix so a proxy reconnecting after a restart never matches by chance. */
    private final String boot = Long.toString(System.currentTimeMillis(), 36);
    private final AtomicLong versions = new AtomicLong();
    private final Timer translateTimer;
    private long windowStartNanos;
    private boolean scheduled;
    private RegistryView view;
    private long viewsBuilt;

    /** The registry as of one generation, by service and by node id. */
    private record RegistryView(long generation, Map<String, List<ServiceInstance>> byService,
                                Map<String, ServiceInstance> byNode) {}

    private record NodeState(ProxyNode node, Translator.OutboundKey key, XdsResources outbound, XdsResources resources,
                             String lds, String rds, String cds, String eds, NodeSnapshot snapshot) {}

    /** An outbound translation and the inputs it was made from. */
    private record Computed(long registryGeneration, long policyRevision, XdsResources resources) {}

    /** Outbound translations by key, valid while the registry generation and policy revision match. */
    private final Map<Translator.OutboundKey, Computed> outboundCache = new java.util.HashMap<>();
    /** SnapshotResources by the identity of the resource map they were made from (shared maps share them). */
    private Map<Map<String, ?>, io.envoyproxy.controlplane.cache.SnapshotResources<?>> resourcesByMap =
            new java.util.IdentityHashMap<>();
    private Map<com.google.protobuf.Message, io.envoyproxy.controlplane.cache.VersionedResource<?>> versioned =
            new java.util.IdentityHashMap<>();

    public SnapshotPublisher(Registry registry, Supplier<MeshPolicy> policy, ProxyTracker tracker,
                             ScheduledExecutorService executor, Duration debounce, MeterRegistry meters) {
        this.registry = registry;
        this.policy = policy;
        this.tracker = tracker;
        this.executor = executor;
        this.debounce = debounce;
        this.translateTimer = Timer.builder("trellis_xds_push_compute").description("time to recompute every node's resources")
                .register(meters);
        tracker.onNode(this::nodeConnected);
        tracker.onNodeGone(this::nodeGone);
    }

    public SimpleCache<String> cache() {
        return cache;
    }

    /** What the discovery server should watch: the cache, seen through each stream's state. */
    public io.envoyproxy.controlplane.cache.ConfigWatcher watcher() {
        return new StreamAwareWatcher(cache, tracker);
    }

    /** Asks for a recompute at the end of the current debounce window. */
    public void changed() {
        synchronized (this) {
            if (scheduled) return;
            scheduled = true;
            windowStartNanos = System.nanoTime();
        }
        executor.schedule(this::pushAll, debounce.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The resources currently published for {@code nodeId}, or null. */
    public XdsResources resources(String nodeId) {
        NodeState s = nodes.get(nodeId);
        return s == null ? null : s.resources();
    }

    private void nodeConnected(ProxyNode node) {
        synchronized (this) {
            NodeState prev = nodes.get(node.id());
            if (prev != null && prev.node().equals(node)) return;
            RegistryView v = view();
            publish(node, prev, System.nanoTime(), policy.get(), v.byService(), v.byNode(), v.generation());
        }
    }

    /**
     * The registry by service and by node as of its current generation, built once per generation:
     * a burst of proxies connecting (a control-plane restart, a mesh starting) reuses it instead of
     * sorting the whole registry for each proxy. Caller holds the lock.
     */
    private RegistryView view() {
        long gen = registry.generation();
        RegistryView v = view;
        if (v == null || v.generation() != gen) {
            Map<String, List<ServiceInstance>> byService = registry.byService();
            Map<String, ServiceInstance> byNode = new java.util.HashMap<>();
            byService.values().forEach(list -> list.forEach(i -> byNode.put(i.nodeId(), i)));
            v = new RegistryView(gen, byService, byNode);
            view = v;
            viewsBuilt++;
        }
        return v;
    }

    /** How many registry views were built (tests: one per registry generation, not one per proxy). */
    synchronized long viewsBuilt() {
        return viewsBuilt;
    }

    private void nodeGone(String nodeId) {
        synchronized (this) {
            nodes.remove(nodeId);
            // fails harmlessly while the closed stream's watches are still being cancelled
            cache.clearSnapshot(nodeId);
        }
    }

    private void pushAll() {
        long start;
        synchronized (this) {
            scheduled = false;
            start = windowStartNanos;
        }
        long t0 = System.nanoTime();
        int pushed = 0;
        try {
            synchronized (this) {
                MeshPolicy p = policy.get();
                RegistryView v = view();
                long gen = v.generation();
                Map<String, List<ServiceInstance>> byService = v.byService();
                Map<String, ServiceInstance> byNode = v.byNode();
                // forget what no node uses any more; keep the rest for identity reuse within this push
                resourcesByMap = new java.util.IdentityHashMap<>();
                versioned = new java.util.IdentityHashMap<>();
                for (NodeState s : List.copyOf(nodes.values())) {
                    if (publish(s.node(), s, start, p, byService, byNode, gen)) pushed++;
                }
                outboundCache.keySet().retainAll(nodes.values().stream().map(NodeState::key).toList());
            }
        } catch (RuntimeException e) {
            log.error("xDS push failed", e);
        }
        translateTimer.record(Duration.ofNanos(System.nanoTime() - t0));
        if (pushed > 0) {
            log.debug("pushed new config to {} of {} proxies", pushed, nodes.size());
        }
    }

    /**
     * Recomputes one node; returns true when its snapshot changed. Caller holds the lock. The
     * outbound part is translated once per key and push ({@code memo}), and each resource equal to
     * the one already published keeps that instance, so comparing a node's maps is mostly identity
     * checks even with thousands of proxies.
     */
    private boolean publish(ProxyNode node, NodeState prev, long changeStart, MeshPolicy p,
                            Map<String, List<ServiceInstance>> byService, Map<String, ServiceInstance> byNode,
                            long generation) {
        ServiceInstance self = node.type() == ProxyNode.Type.PROXYLESS ? null : byNode.get(node.id());
        boolean gateway = node.type() == ProxyNode.Type.GATEWAY;
        Translator.OutboundKey key = gateway ? GatewayTranslator.outboundKey(node, p) : Translator.OutboundKey.of(node, self);
        Computed c = outboundCache.get(key);
        if (c == null || c.registryGeneration() != generation || c.policyRevision() != p.revision()) {
            // no cached translation means no node uses this key (the cache keeps every key in use), so
            // there is nothing published to reuse instances from
            XdsResources fresh = canonical(Translator.outbound(key, p, byService), c != null ? c.resources() : null);
            c = new Computed(generation, p.revision(), fresh);
            outboundCache.put(key, c);
        }
        XdsResources out = c.resources();
        XdsResources r = gateway ? GatewayTranslator.resources(node, out, p) : Translator.merge(out, Translator.inbound(node, self, p));
        if (prev != null && prev.resources().equals(r) && prev.node().equals(node)) {
            if (prev.outbound() != out) nodes.put(node.id(), new NodeState(node, key, out, prev.resources(),
                    prev.lds(), prev.rds(), prev.cds(), prev.eds(), prev.snapshot()));
            return false;
        }
        String lds = next(prev == null ? null : prev.lds(), prev == null ? null : prev.resources().listeners(), r.listeners());
        String rds = next(prev == null ? null : prev.rds(), prev == null ? null : prev.resources().routes(), r.routes());
        String cds = next(prev == null ? null : prev.cds(), prev == null ? null : prev.resources().clusters(), r.clusters());
        String eds = next(prev == null ? null : prev.eds(), prev == null ? null : prev.resources().endpoints(), r.endpoints());
        NodeSnapshot snap = new NodeSnapshot(
                resources(prev == null ? null : prev.snapshot().clusters(), prev == null ? null : prev.resources().clusters(), r.clusters(), cds),
                resources(prev == null ? null : prev.snapshot().endpoints(), prev == null ? null : prev.resources().endpoints(), r.endpoints(), eds),
                resources(prev == null ? null : prev.snapshot().listeners(), prev == null ? null : prev.resources().listeners(), r.listeners(), lds),
                resources(prev == null ? null : prev.snapshot().routes(), prev == null ? null : prev.resources().routes(), r.routes(), rds));
        nodes.put(node.id(), new NodeState(node, key, out, r, lds, rds, cds, eds, snap));
        if (prev == null || !lds.equals(prev.lds())) tracker.changePushed(node.id(), Resources.V3.LISTENER_TYPE_URL, lds, changeStart);
        if (prev == null || !rds.equals(prev.rds())) tracker.changePushed(node.id(), Resources.V3.ROUTE_TYPE_URL, rds, changeStart);
        if (prev == null || !cds.equals(prev.cds())) tracker.changePushed(node.id(), Resources.V3.CLUSTER_TYPE_URL, cds, changeStart);
        if (prev == null || !eds.equals(prev.eds())) tracker.changePushed(node.id(), Resources.V3.ENDPOINT_TYPE_URL, eds, changeStart);
        cache.setSnapshot(node.id(), snap);
        return true;
    }

    /**
     * The cache's view of one type: the previous object when the type did not change, else one
     * shared by every node whose map is the same instance, with each resource hashed once.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private <T extends com.google.protobuf.Message> io.envoyproxy.controlplane.cache.SnapshotResources<T> resources(
            io.envoyproxy.controlplane.cache.SnapshotResources<T> prevResources, Map<String, T> prevMap,
            Map<String, T> map, String version) {
        if (prevResources != null && prevMap == map) return prevResources;
        if (prevResources != null && prevResources.version().equals(version)) return prevResources;
        return (io.envoyproxy.controlplane.cache.SnapshotResources<T>) resourcesByMap.computeIfAbsent(map, m -> {
            List<io.envoyproxy.controlplane.cache.VersionedResource<T>> vr = new java.util.ArrayList<>(map.size());
            for (T res : map.values()) {
                vr.add((io.envoyproxy.controlplane.cache.VersionedResource<T>)
                        versioned.computeIfAbsent(res, x -> io.envoyproxy.controlplane.cache.VersionedResource.create(x)));
            }
            return io.envoyproxy.controlplane.cache.SnapshotResources.create(vr, names -> version);
        });
    }

    /** {@code fresh}, reusing the instances of {@code old} for every resource that did not change. */
    private static XdsResources canonical(XdsResources fresh, XdsResources old) {
        if (old == null) return fresh;
        if (old.equals(fresh)) return old;
        return new XdsResources(reuse(fresh.listeners(), old.listeners()), reuse(fresh.routes(), old.routes()),
                reuse(fresh.clusters(), old.clusters()), reuse(fresh.endpoints(), old.endpoints()));
    }

    private static <T> Map<String, T> reuse(Map<String, T> fresh, Map<String, T> old) {
        if (fresh.equals(old)) return old;
        Map<String, T> m = new java.util.TreeMap<>();
        fresh.forEach((name, res) -> {
            T o = old.get(name);
            m.put(name, o != null && o.equals(res) ? o : res);
        });
        return m;
    }

    private String next(String prevVersion, Map<String, ?> before, Map<String, ?> after) {
        if (prevVersion != null && before.equals(after)) return prevVersion;
        return boot + "." + versions.incrementAndGet();
    }
}
