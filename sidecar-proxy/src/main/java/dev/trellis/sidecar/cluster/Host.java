package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.ClusterConfig;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One upstream endpoint with its live counters (read by the admin server from other threads).
 * Its health combines the status from config or discovery with the active health checker's verdict
 * and outlier ejection.
 */
public final class Host {
    private final InetSocketAddress address;
    private final String hostname;
    private final int weight;
    private final int priority;
    private final ClusterConfig.Health health;
    private final AtomicInteger activeRequests = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();
    private final LongAdder requests = new LongAdder();
    private final LongAdder connectFailures = new LongAdder();
    private final PeakEwma ewma;
    /** The active health checks this host currently fails (it must pass all of them). */
    private final java.util.Set<Object> failedChecks = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile String ejectedFor;
    private volatile Runnable healthListener = () -> { };

    public Host(InetSocketAddress address, String hostname, int weight, int priority, ClusterConfig.Health health) {
        this(address, hostname, weight, priority, health, new PeakEwma(System::nanoTime,
                dev.trellis.sidecar.config.LbConfig.DEFAULT_EWMA_DECAY, dev.trellis.sidecar.config.LbConfig.DEFAULT_EWMA_RTT));
    }

    public Host(InetSocketAddress address, String hostname, int weight, int priority, ClusterConfig.Health health,
                PeakEwma ewma) {
        this.ewma = ewma;
        this.address = address;
        this.hostname = hostname;
        this.weight = weight;
        this.priority = priority;
        this.health = health;
    }

    public InetSocketAddress address() { return address; }
    /** The name given in config (for {@code auto_host_rewrite}). */
    public String hostname() { return hostname; }
    public int weight() { return weight; }
    public int priority() { return priority; }
    public ClusterConfig.Health health() { return health; }

    /**
     * Healthy unless marked unhealthy or draining by config or discovery, failing active health
     * checks, or ejected as an outlier. Balancers send to unhealthy hosts only in panic mode.
     */
    public boolean healthy() {
        return health != ClusterConfig.Health.UNHEALTHY && health != ClusterConfig.Health.DRAINING
                && failedChecks.isEmpty() && ejectedFor == null;
    }

    /** True while at least one active health check fails this host. */
    public boolean failedActiveHealthCheck() { return !failedChecks.isEmpty(); }
    /** Why the host is ejected (e.g. {@code consecutive_5xx}), or {@code null}. */
    public String ejectedFor() { return ejectedFor; }
    /** Latency estimate for the peak-EWMA balancer. */
    public PeakEwma ewma() { return ewma; }

    /** Records {@code check}'s verdict; the host's health changes only when the set of failing checks empties or fills. */
    void failedActiveHealthCheck(Object check, boolean failed) {
        boolean changed;
        synchronized (failedChecks) {
            boolean before = failedChecks.isEmpty();
            if (failed) {
                failedChecks.add(check);
            } else {
                failedChecks.remove(check);
            }
            changed = before != failedChecks.isEmpty();
        }
        if (changed) {
            healthListener.run();
        }
    }

    void ejectedFor(String reason) {
        if (!java.util.Objects.equals(ejectedFor, reason)) {
            ejectedFor = reason;
            healthListener.run();
        }
    }

    /** Told when this host's health changes (the cluster rebuilds its balancer). */
    void onHealthChange(Runnable listener) {
        this.healthListener = listener;
    }

    public AtomicInteger activeRequests() { return activeRequests; }
    public AtomicInteger connections() { return connections; }
    public long requests() { return requests.sum(); }
    public void countRequest() { requests.increment(); }
    public long connectFailures() { return connectFailures.sum(); }
    public void countConnectFailure() { connectFailures.increment(); }

    /** {@code ip:port} as shown in logs and {@code /clusters}. */
    public String label() {
        // made once: every request's stream info and access log line carry it
        String l = label;
        if (l == null) {
            String ip = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
            l = (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + address.getPort();
            label = l;
        }
        return l;
    }

    private volatile String label;

    @Override
    public String toString() {
        return label();
    }
}
