package dev.trellis.controlplane.registry;

import dev.trellis.controlplane.api.v1.HealthStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service registry: instances by id, each owned by one registration call (a {@link Lease}).
 * An instance is removed when its owner deregisters, or when the owner's call breaks and no new
 * call takes the instance over within the grace period. Listeners hear of every change.
 */
public final class Registry {
    private static final Logger log = LoggerFactory.getLogger(Registry.class);

    private final Clock clock;
    private final Scheduler scheduler;
    private final Duration gracePeriod;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong generation = new AtomicLong();
    private final AtomicLong leases = new AtomicLong();
    /** Every service that ever had an instance: it keeps its (then empty) endpoints when the last one leaves. */
    private final java.util.Set<String> services = ConcurrentHashMap.newKeySet();

    public Registry(Clock clock, Scheduler scheduler, Duration gracePeriod) {
        this.clock = clock;
        this.scheduler = scheduler;
        this.gracePeriod = gracePeriod;
    }

    /** The right to change one instance: only the latest registration of an instance id holds it. */
    public record Lease(String instanceId, long id) {}

    private record Entry(ServiceInstance instance, long leaseId, Runnable expiry) {}

    public Duration gracePeriod() {
        return gracePeriod;
    }

    /** Called after every change. */
    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    /**
     * Adds or takes over the instance (same instance id) with the health it comes with; one that
     * comes with none keeps the health of the instance it takes over, or is not routable until
     * reported healthy.
     */
    public Lease register(ServiceInstance instance) {
        long id = leases.incrementAndGet();
        Entry[] old = new Entry[1];
        entries.compute(instance.instanceId(), (k, prev) -> {
            old[0] = prev;
            ServiceInstance inst = instance;
            if (prev != null && instance.health() == HealthStatus.HEALTH_UNKNOWN
                    && prev.instance().service().equals(instance.service())
                    && prev.instance().endpoint().equals(instance.endpoint())) {
                // a sidecar reconnecting keeps its health until it reports again, so traffic does not blip
                inst = instance.withHealth(prev.instance().health(), prev.instance().healthDetail());
            }
            return new Entry(inst.withConnected(true), id, null);
        });
        // only now: a push computed concurrently must not see the service without the instance (an empty EDS)
        services.add(instance.service());
        if (old[0] != null && old[0].expiry() != null) old[0].expiry().run();
        log.info("registered {} of {} at {} ({})", instance.instanceId(), instance.service(), instance.endpoint(),
                old[0] == null ? "new" : "took over");
        changed();
        return new Lease(instance.instanceId(), id);
    }

    public void health(Lease lease, HealthStatus status, String detail) {
        boolean[] changed = {false};
        entries.computeIfPresent(lease.instanceId(), (k, e) -> {
            if (e.leaseId() != lease.id() || e.instance().health() == status) return e;
            changed[0] = true;
            return new Entry(e.instance().withHealth(status, detail), e.leaseId(), e.expiry());
        });
        if (changed[0]) {
            log.info("instance {} health {}{}", lease.instanceId(), status, detail.isEmpty() ? "" : ": " + detail);
            changed();
        }
    }

    /** Removes the instance now; returns it, or null when this lease no longer owns it. */
    public ServiceInstance deregister(Lease lease) {
        Entry[] removed = new Entry[1];
        entries.computeIfPresent(lease.instanceId(), (k, e) -> {
            if (e.leaseId() != lease.id()) return e;
            removed[0] = e;
            return null;
        });
        if (removed[0] == null) return null;
        log.info("deregistered {}", lease.instanceId());
        changed();
        return removed[0].instance();
    }

    /** The owner's call broke: keep the instance for the grace period, then remove it. */
    public void disconnected(Lease lease) {
        boolean[] changed = {false};
        entries.computeIfPresent(lease.instanceId(), (k, e) -> {
            if (e.leaseId() != lease.id() || !e.instance().connected()) return e;
            changed[0] = true;
            Runnable cancel = scheduler.schedule(() -> expire(lease), gracePeriod);
            return new Entry(e.instance().withConnected(false), e.leaseId(), cancel);
        });
        if (changed[0]) {
            log.info("instance {} lost its registration call; removing it in {} unless it comes back",
                    lease.instanceId(), gracePeriod);
            changed();
        }
    }

    private void expire(Lease lease) {
        boolean[] removed = {false};
        entries.computeIfPresent(lease.instanceId(), (k, e) -> {
            if (e.leaseId() != lease.id() || e.instance().connected()) return e;
            removed[0] = true;
            return null;
        });
        if (removed[0]) {
            log.info("instance {} removed: its registration call did not come back within {}", lease.instanceId(),
                    gracePeriod);
            changed();
        }
    }

    /** Increases with every change. */
    public long generation() {
        return generation.get();
    }

    public Collection<ServiceInstance> instances() {
        List<ServiceInstance> out = new ArrayList<>();
        for (Entry e : entries.values()) out.add(e.instance());
        out.sort(java.util.Comparator.comparing(ServiceInstance::service).thenComparing(ServiceInstance::instanceId));
        return out;
    }

    /**
     * Instances by service name (all, routable or not), including services whose instances have all
     * gone (with an empty list), so proxies learn that there are no endpoints left.
     */
    public Map<String, List<ServiceInstance>> byService() {
        Map<String, List<ServiceInstance>> m = new TreeMap<>();
        for (String s : services) m.put(s, new ArrayList<>());
        for (ServiceInstance i : instances()) m.computeIfAbsent(i.service(), k -> new ArrayList<>()).add(i);
        return m;
    }

    public ServiceInstance byNodeId(String nodeId) {
        for (Entry e : entries.values()) if (e.instance().nodeId().equals(nodeId)) return e.instance();
        return null;
    }

    public int size() {
        return entries.size();
    }

    Clock clock() {
        return clock;
    }

    private void changed() {
        generation.incrementAndGet();
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                log.warn("registry listener failed", e);
            }
        }
    }
}
