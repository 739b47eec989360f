package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.CircuitBreakerConfig;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The circuit breakers of one cluster and routing priority: open connections, requests waiting
 * for a connection, active requests and active retries, each against its threshold. A resource
 * that is full refuses at once (the caller answers 503 UO); nothing queues beyond the bounds.
 * With a retry budget, concurrent retries may be at most {@code percent} of active requests, never
 * fewer than {@code min_retry_concurrency}.
 */
public final class ResourceManager {
    /** One bounded resource with its overflow count. */
    public static final class Resource {
        private final String name;
        private final AtomicInteger open = new AtomicInteger();
        private final LongAdder overflows = new LongAdder();

        Resource(String name) {
            this.name = name;
        }

        public String name() { return name; }
        public int open() { return open.get(); }
        public long overflows() { return overflows.sum(); }

        boolean tryAcquire(int limit) {
            return tryAcquire(limit, true);
        }

        boolean tryAcquire(int limit, boolean countOverflow) {
            while (true) {
                int n = open.get();
                if (n >= limit) {
                    if (countOverflow) {
                        overflows.increment();
                    }
                    return false;
                }
                if (open.compareAndSet(n, n + 1)) {
                    return true;
                }
            }
        }

        /** Takes one even over the limit (a connection that opened anyway). */
        void acquire() {
            open.incrementAndGet();
        }

        public void release() {
            open.decrementAndGet();
            if (freed != null) {
                freed.forEach(Runnable::run);
            }
        }

        private java.util.List<Runnable> freed;
    }

    private final CircuitBreakerConfig config;
    private final Resource connections = new Resource("connections");
    private final Resource pending = new Resource("pending_requests");
    private final Resource requests = new Resource("requests");
    private final Resource retries = new Resource("retries");

    public ResourceManager(CircuitBreakerConfig config) {
        this.config = config;
        connections.freed = new java.util.concurrent.CopyOnWriteArrayList<>();
    }

    /**
     * Told whenever a connection slot frees up: pools of other event loops holding requests that
     * wait for a connection try again. Returns what unregisters {@code r} (a drained pool).
     */
    public Runnable onConnectionFreed(Runnable r) {
        connections.freed.add(r);
        return () -> connections.freed.remove(r);
    }

    private final java.util.List<Runnable> starved = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * Told when a request starts waiting because the connection limit is reached: pools give up an
     * idle connection. Returns what unregisters {@code r}.
     */
    public Runnable onStarved(Runnable r) {
        starved.add(r);
        return () -> starved.remove(r);
    }

    /** A request waits for a connection slot held elsewhere. */
    public void starved() {
        starved.forEach(Runnable::run);
    }

    /** True when requests wait for a connection while the connection limit is reached. */
    public boolean connectionStarved() {
        return pending.open() > 0 && connections.open() >= config.maxConnections();
    }

    public CircuitBreakerConfig config() { return config; }
    public Resource connections() { return connections; }
    public Resource pending() { return pending; }
    public Resource requests() { return requests; }
    public Resource retries() { return retries; }

    public boolean tryAcquireConnection() { return connections.tryAcquire(config.maxConnections()); }
    /** As {@link #tryAcquireConnection} for a request already waiting: a refusal is no new overflow. */
    public boolean tryAcquireConnectionQuietly() { return connections.tryAcquire(config.maxConnections(), false); }
    public boolean tryAcquirePending() { return pending.tryAcquire(config.maxPendingRequests()); }
    public boolean tryAcquireRequest() { return requests.tryAcquire(config.maxRequests()); }

    /** A retry may start: under the retry budget if there is one, else under {@code max_retries}. */
    public boolean tryAcquireRetry() {
        return retries.tryAcquire(retryLimit());
    }

    /**
     * Concurrent retries allowed now. A retry holds its slot from its back-off until its attempt
     * ends. The budget is a share of the active requests that are not retrying themselves, so
     * retries stay within {@code percent} of first attempts even when every attempt fails.
     */
    public int retryLimit() {
        return config.retryBudget().map(b -> (int) Math.max(b.minConcurrency(),
                Math.floor(b.percent() / 100.0 * Math.max(0, requests.open() - retries.open()))))
                .orElse(config.maxRetries());
    }
}
