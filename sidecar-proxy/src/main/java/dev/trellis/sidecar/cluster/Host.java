package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.ClusterConfig;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** One upstream endpoint with its live counters (read by the admin server from other threads). */
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

    public Host(InetSocketAddress address, String hostname, int weight, int priority, ClusterConfig.Health health) {
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

    /** Hosts marked unhealthy or draining by config or discovery get no new requests. */
    public boolean healthy() {
        return health != ClusterConfig.Health.UNHEALTHY && health != ClusterConfig.Health.DRAINING;
    }

    public AtomicInteger activeRequests() { return activeRequests; }
    public AtomicInteger connections() { return connections; }
    public long requests() { return requests.sum(); }
    public void countRequest() { requests.increment(); }
    public long connectFailures() { return connectFailures.sum(); }
    public void countConnectFailure() { connectFailures.increment(); }

    /** {@code ip:port} as shown in logs and {@code /clusters}. */
    public String label() {
        String ip = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + address.getPort();
    }

    @Override
    public String toString() {
        return label();
    }
}
