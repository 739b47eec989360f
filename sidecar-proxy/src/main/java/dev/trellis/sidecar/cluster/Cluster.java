package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.HealthCheckConfig;
import dev.trellis.sidecar.internal.SslContexts;
import dev.trellis.sidecar.upstream.ConnectionPool;
import dev.trellis.sidecar.upstream.ConnectionPools;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A cluster at run time: its current hosts (replaced as a whole when DNS answers change), the
 * load balancer over them, and connection pools per event loop and host.
 */
public final class Cluster {
    private volatile ClusterConfig config;
    private final SslContext ssl;
    /** ALPN h2 context of a DOWNSTREAM cluster's HTTP/2 pools ({@link #ssl} offers http/1.1 then); else null. */
    private final SslContext ssl2;
    /**
     * Pools per event loop, host, routing priority (as in Envoy, each priority has its own pools and
     * limits) and protocol (a DOWNSTREAM cluster has an HTTP/1 and an HTTP/2 pool per host).
     */
    private final Map<EventLoop, Map<PoolKey, ConnectionPool>> pools = new ConcurrentHashMap<>();

    private record PoolKey(Host host, boolean highPriority, boolean http2) {}
    private volatile HostSet hostSet;
    private final ResourceManager resources;
    private final OutlierDetector outlier;
    private final ResourceManager highPriorityResources;
    private final java.util.concurrent.atomic.LongAdder retries = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder retryOverflows = new java.util.concurrent.atomic.LongAdder();

    /** Failures that originate in the proxy rather than in an upstream response. */
    public enum LocalFailure { CONNECT_FAILED, TIMEOUT, RESET }

    /** Hosts and the balancer built over exactly them. */
    record HostSet(List<Host> hosts, LoadBalancer lb) {}

    Cluster(ClusterConfig config, List<Host> hosts, dev.trellis.sidecar.identity.MeshTls mesh) {
        this.config = config;
        this.ssl = config.tls().map(t -> SslContexts.client(t, config.protocol() == ClusterConfig.UpstreamProtocol.HTTP2,
                config.name(), mesh)).orElse(null);
        this.ssl2 = config.protocol() != ClusterConfig.UpstreamProtocol.DOWNSTREAM ? null
                : config.tls().map(t -> SslContexts.client(t, true, config.name(), mesh)).orElse(null);
        this.outlier = config.outlierDetection().map(od -> new OutlierDetector(od, System::nanoTime,
                () -> java.util.concurrent.ThreadLocalRandom.current().nextInt(100), this::hosts)).orElse(null);
        this.resources = new ResourceManager(config.circuitBreakers());
        this.highPriorityResources = new ResourceManager(config.highPriorityCircuitBreakers());
        setHosts(hosts);
    }

    /** The circuit breakers of a routing priority. */
    public ResourceManager resources(boolean highPriority) {
        return highPriority ? highPriorityResources : resources;
    }

    /** The outlier detector, or null when the cluster has none. */
    public OutlierDetector outlierDetector() {
        return outlier;
    }

    /** An upstream answered with {@code status} (outlier detection input). */
    public void reportResponse(Host host, int status) {
        if (outlier != null) {
            outlier.onResponse(host, status);
        }
    }

    /** A connection to the host opened. */
    public void reportConnectSuccess(Host host) {
        if (outlier != null) {
            outlier.onLocalSuccess(host);
        }
    }

    /** A connect failure, timeout or reset of an attempt to {@code host}. */
    public void reportLocalFailure(Host host, LocalFailure failure) {
        if (outlier != null) {
            outlier.onLocalFailure(host, failure);
        }
    }

    public void countRetry() { retries.increment(); }
    public void countRetryOverflow() { retryOverflows.increment(); }
    /** Retries started. */
    public long retries() { return retries.sum(); }
    /** Retries refused by the retry budget or {@code max_retries}. */
    public long retryOverflows() { return retryOverflows.sum(); }

    public String name() {
        return config.name();
    }

    public ClusterConfig config() {
        return config;
    }

    public List<Host> hosts() {
        return hostSet.hosts();
    }

    /** True when upstream connections use TLS (the upstream {@code :scheme} is https). */
    public boolean tls() {
        return ssl != null;
    }

    /** An EDS update: same cluster settings, new endpoints. */
    void setEndpoints(ClusterConfig next, List<Host> hosts) {
        this.config = next;
        setHosts(hosts);
        java.util.Set<Host> kept = java.util.Set.copyOf(hosts);
        // pools live on their event loop: retire the ones of hosts that left there
        pools.forEach((loop, byHost) -> loop.execute(() -> byHost.entrySet().removeIf(e -> {
            if (kept.contains(e.getKey().host())) {
                return false;
            }
            e.getValue().drain();
            return true;
        })));
    }

    void setHosts(List<Host> hosts) {
        synchronized (this) {
            // new hosts fail every active check until it passes: marked before the balancer sees them
            for (HealthChecker c : checkers) {
                c.track(hosts);
            }
            this.hostSet = new HostSet(List.copyOf(hosts), LoadBalancers.create(config.lb(), hosts));
        }
        for (Host h : hosts) {
            h.onHealthChange(this::healthChanged);
        }
    }

    /** A host's health flipped: the balancer is rebuilt over the same hosts. */
    private synchronized void healthChanged() {
        List<Host> hosts = hostSet.hosts();
        this.hostSet = new HostSet(hosts, LoadBalancers.create(config.lb(), hosts));
    }

    /**
     * Picks a host, or {@code null} when there is none to pick. A host the context wants to avoid
     * (retry host predicate) is picked again up to its {@code host_selection_retry_max_attempts}.
     */
    public Host choose(LoadBalancer.Context ctx) {
        LoadBalancer lb = hostSet.lb();
        Host h = lb.choose(ctx);
        int max = ctx.hostSelectionRetryMaxAttempts();
        for (int i = 1; i <= max && h != null && ctx.shouldAvoid(h); i++) {
            int attempt = i;
            h = lb.choose(new LoadBalancer.Context() {
                @Override public java.util.OptionalLong hash() { return ctx.hash(); }
                @Override public boolean shouldAvoid(Host host) { return ctx.shouldAvoid(host); }
                @Override public int selectionAttempt() { return attempt; }
            });
        }
        return h;
    }

    /** The default-priority pool for {@code host} on {@code loop}; call on {@code loop}. */
    public ConnectionPool pool(EventLoop loop, Host host) {
        return pool(loop, host, false);
    }

    /**
     * The pool for {@code host} on {@code loop} whose connections and waiting requests count against
     * the circuit breakers of the routing priority; call on {@code loop}.
     */
    public ConnectionPool pool(EventLoop loop, Host host, boolean highPriority) {
        return pool(loop, host, highPriority, false);
    }

    /**
     * As {@link #pool(EventLoop, Host, boolean)} for a request that arrived over HTTP/2
     * ({@code downstreamHttp2}) or HTTP/1: the cluster's protocol decides, or the request's for
     * {@code DOWNSTREAM}.
     */
    public ConnectionPool pool(EventLoop loop, Host host, boolean highPriority, boolean downstreamHttp2) {
        boolean http2 = config.protocol().http2For(downstreamHttp2);
        return pools.computeIfAbsent(loop, l -> new ConcurrentHashMap<>())
                .computeIfAbsent(new PoolKey(host, highPriority, http2),
                        k -> ConnectionPools.create(loop, k.host(), config, ssl(k.http2()), resources(k.highPriority()),
                                k.http2()));
    }

    /** The client TLS context (null without TLS) whose ALPN offers h2 ({@code http2}) or http/1.1. */
    SslContext ssl(boolean http2) {
        return http2 && ssl2 != null ? ssl2 : ssl;
    }

    /**
     * Every pool of this cluster now, of both priorities (for gauges: a pool's counters may be read
     * from any thread).
     */
    public java.util.List<ConnectionPool> pools() {
        java.util.List<ConnectionPool> out = new java.util.ArrayList<>();
        pools.values().forEach(byKey -> out.addAll(byKey.values()));
        return out;
    }

    /** Requests of this cluster waiting for a connection or stream, across its pools. */
    public int pendingRequests() {
        int n = 0;
        for (ConnectionPool p : pools()) {
            n += p.pendingRequests();
        }
        return n;
    }

    /** Open upstream connections to {@code host} across event loops. */
    public int connections(Host host) {
        return host.connections().get();
    }

    private final java.util.List<java.util.concurrent.ScheduledFuture<?>> timers = new java.util.ArrayList<>();

    /** Starts outlier detection's interval and active health checks (on a background executor, never an event loop). */
    synchronized void startTimers(java.util.concurrent.ScheduledExecutorService exec) {
        if (outlier != null) {
            long ms = Math.max(1, outlier.config().interval().toMillis());
            timers.add(exec.scheduleWithFixedDelay(() -> {
                try {
                    outlier.onInterval();
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(Cluster.class).warn("cluster '{}': outlier detection failed", name(), e);
                }
            }, ms, ms, java.util.concurrent.TimeUnit.MILLISECONDS));
        }
        for (var hc : config.healthChecks()) {
            HealthChecker checker = new HealthChecker(this, hc, ssl(hc.kind() == HealthCheckConfig.Kind.GRPC),
                    b -> java.util.concurrent.ThreadLocalRandom.current().nextLong(b));
            checkers.add(checker);
            checker.start();
        }
    }

    private final java.util.List<HealthChecker> checkers = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Active health checkers (empty without {@code health_checks}). */
    public java.util.List<HealthChecker> healthCheckers() {
        return checkers;
    }

    /** Lets in-flight streams finish and closes idle connections; the cluster takes no new pools after. */
    void drain() {
        synchronized (this) {
            timers.forEach(t -> t.cancel(false));
            timers.clear();
            checkers.forEach(HealthChecker::stop);
        }
        pools.forEach((loop, byHost) -> loop.execute(() -> byHost.values().forEach(ConnectionPool::drain)));
    }
}
