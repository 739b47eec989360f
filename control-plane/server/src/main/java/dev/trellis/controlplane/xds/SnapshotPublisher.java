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

    private record NodeState(ProxyNode node, XdsResources resources, String lds, String rds, String cds, String eds) {}

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
            publish(node, prev, System.nanoTime());
        }
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
                for (NodeState s : List.copyOf(nodes.values())) {
                    if (publish(s.node(), s, start)) pushed++;
                }
            }
        } catch (RuntimeException e) {
            log.error("xDS push failed", e);
        }
        translateTimer.record(Duration.ofNanos(System.nanoTime() - t0));
        if (pushed > 0) {
            log.debug("pushed new config to {} of {} proxies", pushed, nodes.size());
        }
    }

    /** Recomputes one node; returns true when its snapshot changed. Caller holds the lock. */
    private boolean publish(ProxyNode node, NodeState prev, long changeStart) {
        ServiceInstance self = node.type() == ProxyNode.Type.PROXYLESS ? null : registry.byNodeId(node.id());
        XdsResources r = Translator.translate(node, self, policy.get(), registry.byService());
        if (prev != null && prev.resources().equals(r) && prev.node().equals(node)) return false;
        String lds = next(prev == null ? null : prev.lds(), prev == null ? null : prev.resources().listeners(), r.listeners());
        String rds = next(prev == null ? null : prev.rds(), prev == null ? null : prev.resources().routes(), r.routes());
        String cds = next(prev == null ? null : prev.cds(), prev == null ? null : prev.resources().clusters(), r.clusters());
        String eds = next(prev == null ? null : prev.eds(), prev == null ? null : prev.resources().endpoints(), r.endpoints());
        nodes.put(node.id(), new NodeState(node, r, lds, rds, cds, eds));
        if (prev == null || !lds.equals(prev.lds())) tracker.changePushed(node.id(), Resources.V3.LISTENER_TYPE_URL, lds, changeStart);
        if (prev == null || !rds.equals(prev.rds())) tracker.changePushed(node.id(), Resources.V3.ROUTE_TYPE_URL, rds, changeStart);
        if (prev == null || !cds.equals(prev.cds())) tracker.changePushed(node.id(), Resources.V3.CLUSTER_TYPE_URL, cds, changeStart);
        if (prev == null || !eds.equals(prev.eds())) tracker.changePushed(node.id(), Resources.V3.ENDPOINT_TYPE_URL, eds, changeStart);
        cache.setSnapshot(node.id(), Snapshot.create(
                r.clusters().values(), cds,
                r.endpoints().values(), eds,
                r.listeners().values(), lds,
                r.routes().values(), rds,
                List.of(), "0"));
        return true;
    }

    private String next(String prevVersion, Map<String, ?> before, Map<String, ?> after) {
        if (prevVersion != null && before.equals(after)) return prevVersion;
        return boot + "." + versions.incrementAndGet();
    }
}
