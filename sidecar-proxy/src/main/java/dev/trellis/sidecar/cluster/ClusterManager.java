package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.ConfigException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * All clusters by name. An update keeps a cluster whose config did not change (with its pools
 * and connections) and drains the ones replaced or removed. DNS clusters re-resolve on a
 * background thread, never on an event loop.
 */
public final class ClusterManager {
    private static final Logger log = LoggerFactory.getLogger(ClusterManager.class);
    private static final Duration DEFAULT_DNS_REFRESH = Duration.ofSeconds(5);

    private final ScheduledExecutorService dns;
    private volatile Map<String, Cluster> clusters = Map.of();
    private final Map<String, ScheduledFuture<?>> refreshers = new LinkedHashMap<>();

    private final dev.trellis.sidecar.identity.MeshTls mesh;

    public ClusterManager(ScheduledExecutorService dns) {
        this(dns, null);
    }

    /** {@code mesh}: the workload identity clusters with SDS secrets use (null: none). */
    public ClusterManager(ScheduledExecutorService dns, dev.trellis.sidecar.identity.MeshTls mesh) {
        this.dns = dns;
        this.mesh = mesh;
    }

    public Cluster get(String name) {
        return clusters.get(name);
    }

    public Collection<Cluster> all() {
        return clusters.values();
    }

    /** Applies a new set of cluster configs; DNS names are resolved before this returns. */
    public synchronized Map<String, Cluster> update(Map<String, ClusterConfig> configs) {
        return commit(prepare(configs));
    }

    /**
     * Clusters built for a config but not in use yet: {@link #commit} swaps them in, {@link #discard}
     * drops them. Unchanged clusters are the running ones, with their pools and connections.
     */
    public static final class Pending {
        private final Map<String, Cluster> next;
        private final List<Cluster> fresh;
        private final List<Runnable> endpointUpdates;

        private Pending(Map<String, Cluster> next, List<Cluster> fresh, List<Runnable> endpointUpdates) {
            this.next = next;
            this.fresh = fresh;
            this.endpointUpdates = endpointUpdates;
        }

        /** The clusters as they will be after {@link #commit}. */
        public Map<String, Cluster> clusters() {
            return next;
        }
    }

    /** Builds (and resolves) what {@code configs} needs; may throw {@link ConfigException}; swaps nothing. */
    public synchronized Pending prepare(Map<String, ClusterConfig> configs) {
        Map<String, Cluster> next = new LinkedHashMap<>();
        List<Cluster> fresh = new ArrayList<>();
        List<Runnable> endpointUpdates = new ArrayList<>();
        try {
            for (ClusterConfig c : configs.values()) {
                Cluster old = clusters.get(c.name());
                if (old != null && old.config().equals(c)) {
                    next.put(c.name(), old);
                } else if (old != null && c.type() == ClusterConfig.DiscoveryType.EDS && sameButEndpoints(old.config(), c)) {
                    // only EDS endpoints changed: keep the cluster, its pools and the hosts that stay
                    List<Host> hosts = resolve(c);
                    endpointUpdates.add(() -> old.setEndpoints(c, merge(hosts, old.hosts())));
                    next.put(c.name(), old);
                } else {
                    Cluster built = new Cluster(c, resolve(c), mesh);
                    fresh.add(built);
                    next.put(c.name(), built);
                }
            }
        } catch (RuntimeException e) {
            fresh.forEach(Cluster::drain);
            throw e;
        }
        return new Pending(java.util.Collections.unmodifiableMap(next), fresh, endpointUpdates);
    }

    /** True when {@code a} and {@code b} differ in nothing but their endpoints. */
    static boolean sameButEndpoints(ClusterConfig a, ClusterConfig b) {
        try {
            for (java.lang.reflect.RecordComponent rc : ClusterConfig.class.getRecordComponents()) {
                if (!rc.getName().equals("endpoints")
                        && !Objects.equals(rc.getAccessor().invoke(a), rc.getAccessor().invoke(b))) {
                    return false;
                }
            }
            return true;
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    /** Drops clusters that {@link #prepare} built for a config that is not applied. */
    public synchronized void discard(Pending p) {
        p.fresh.forEach(Cluster::drain);
    }

    /** Swaps in what {@link #prepare} built and drains the clusters replaced or removed. */
    public synchronized Map<String, Cluster> commit(Pending p) {
        List<Cluster> retired = new ArrayList<>();
        for (Cluster old : clusters.values()) {
            if (p.next.get(old.name()) != old) {
                retired.add(old);
            }
        }
        clusters = p.next;
        p.endpointUpdates.forEach(Runnable::run);
        for (Cluster c : p.fresh) {
            c.startTimers(dns);
        }
        for (Cluster r : retired) {
            ScheduledFuture<?> f = refreshers.remove(r.name());
            if (f != null) {
                f.cancel(false);
            }
            r.drain();
        }
        for (Cluster c : p.next.values()) {
            if (c.config().type() != ClusterConfig.DiscoveryType.STATIC
                    && c.config().type() != ClusterConfig.DiscoveryType.EDS && !refreshers.containsKey(c.name())) {
                long ms = c.config().dnsRefreshRate().orElse(DEFAULT_DNS_REFRESH).toMillis();
                refreshers.put(c.name(), dns.scheduleWithFixedDelay(() -> refresh(c), ms, ms, TimeUnit.MILLISECONDS));
            }
        }
        return clusters;
    }

    private void refresh(Cluster c) {
        try {
            List<Host> fresh = resolve(c.config());
            List<Host> current = c.hosts();
            if (!sameAddresses(fresh, current)) {
                log.info("cluster '{}': DNS answer changed to {}", c.name(), fresh);
                c.setHosts(merge(fresh, current));
            }
        } catch (RuntimeException e) {
            log.warn("cluster '{}': DNS refresh failed, keeping {} hosts: {}", c.name(), c.hosts().size(), e.getMessage());
        }
    }

    private static boolean sameAddresses(List<Host> a, List<Host> b) {
        return a.stream().map(Host::address).toList().equals(b.stream().map(Host::address).toList());
    }

    /** Keeps the Host objects (and their counters) of addresses that stay. */
    private static List<Host> merge(List<Host> fresh, List<Host> current) {
        List<Host> out = new ArrayList<>();
        for (Host f : fresh) {
            Host keep = current.stream().filter(h -> h.address().equals(f.address()) && h.weight() == f.weight()
                    && h.priority() == f.priority() && h.health() == f.health()).findFirst().orElse(f);
            out.add(keep);
        }
        return out;
    }

    /** Endpoints to hosts: STATIC needs IP literals, STRICT_DNS takes every address, LOGICAL_DNS the first. */
    static List<Host> resolve(ClusterConfig c) {
        List<Host> out = new ArrayList<>();
        for (ClusterConfig.EndpointConfig e : c.endpoints()) {
            String name = e.address().host();
            int port = e.address().port();
            switch (c.type()) {
                case STATIC -> {
                    if (!isIpLiteral(name)) {
                        throw new ConfigException("cluster '" + c.name() + "': endpoint address '" + name
                                + "' (expected: an IP address for a STATIC cluster; use STRICT_DNS for names)");
                    }
                    out.add(new Host(new InetSocketAddress(literal(name), port), name, e.weight(), e.priority(), e.health(), ewma(c)));
                }
                case STRICT_DNS, LOGICAL_DNS -> {
                    InetAddress[] all;
                    try {
                        all = InetAddress.getAllByName(name);
                    } catch (UnknownHostException ex) {
                        log.warn("cluster '{}': cannot resolve '{}': {}", c.name(), name, ex.getMessage());
                        continue;
                    }
                    int n = c.type() == ClusterConfig.DiscoveryType.LOGICAL_DNS ? 1 : all.length;
                    for (int i = 0; i < n; i++) {
                        out.add(new Host(new InetSocketAddress(all[i], port), name, e.weight(), e.priority(), e.health(), ewma(c)));
                    }
                }
                case EDS -> {
                    // EDS hands out addresses; a host name is resolved once, here, off the event loops
                    InetAddress a;
                    try {
                        a = isIpLiteral(name) ? literal(name) : InetAddress.getByName(name);
                    } catch (UnknownHostException ex) {
                        log.warn("cluster '{}': cannot resolve endpoint '{}': {}", c.name(), name, ex.getMessage());
                        continue;
                    }
                    out.add(new Host(new InetSocketAddress(a, port), name, e.weight(), e.priority(), e.health()));
                }
            }
        }
        return out;
    }

    private static PeakEwma ewma(ClusterConfig c) {
        return new PeakEwma(System::nanoTime, c.lb().ewmaDecay(), c.lb().ewmaDefaultRtt());
    }

    static boolean isIpLiteral(String s) {
        return s.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (s.indexOf(':') >= 0 && s.matches("[0-9a-fA-F:.]+"));
    }

    private static InetAddress literal(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new ConfigException("address '" + s + "' (expected: an IP address)");
        }
    }

    /** Stops DNS refreshes and drains every cluster. */
    public synchronized void close() {
        refreshers.values().forEach(f -> f.cancel(false));
        refreshers.clear();
        clusters.values().forEach(Cluster::drain);
        clusters = Map.of();
    }

    @Override
    public String toString() {
        return Objects.toString(clusters.keySet());
    }
}
