package dev.trellis.demo.user.outbox;

import dev.trellis.demo.user.store.OutboxMessage;
import dev.trellis.demo.user.store.OutboxStore;
import dev.trellis.demo.user.web.TraceHeaders;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers outbox rows at least once, in order per user: only a user's oldest undelivered row is
 * ever sent, a row is marked delivered only after a 2xx, and a failed row is retried after an
 * exponential backoff with jitter while other users' rows go on. Rows live in the database, so
 * nothing is lost across restarts. Of several instances sharing one database, only the holder of
 * a lease relays, so per-user order holds there too.
 */
public final class OutboxRelay implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);
    private static final String LEASE = "outbox";
    /** Delivered rows are kept this long (to look at), then deleted. */
    static final long RETENTION_MILLIS = 60 * 60 * 1000;
    private static final long PRUNE_EVERY_MILLIS = 60 * 1000;

    /** How the relay waits between passes; {@link #signal()} cuts a wait short (a new row was written). */
    public interface Waiter {
        void await(long millis) throws InterruptedException;

        void signal();

        /** A real waiter: sleeps up to the given time unless signalled. */
        static Waiter blocking() {
            Semaphore permits = new Semaphore(0);
            return new Waiter() {
                @Override
                public void await(long millis) throws InterruptedException {
                    if (millis > 0) {
                        permits.tryAcquire(millis, TimeUnit.MILLISECONDS);
                    }
                    permits.drainPermits();
                }

                @Override
                public void signal() {
                    permits.release();
                }
            };
        }
    }

    private final OutboxStore store;
    private final Delivery delivery;
    private final Backoff backoff;
    private final Clock clock;
    private final Waiter waiter;
    private final long leaseMillis;
    private final int batchSize;
    private final String owner = UUID.randomUUID().toString();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong failedAttempts = new AtomicLong();
    private volatile boolean closed;
    private long lastPrune = Long.MIN_VALUE;
    private Thread thread;

    public OutboxRelay(OutboxStore store, Delivery delivery, Backoff backoff, Clock clock, Waiter waiter,
                       Duration leaseTtl, int batchSize) {
        if (leaseTtl.toMillis() < 3) {
            throw new IllegalArgumentException("relay lease: " + leaseTtl.toMillis() + "ms (expected: >= 3ms)");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("relay batch size: " + batchSize + " (expected: >= 1)");
        }
        this.store = store;
        this.delivery = delivery;
        this.backoff = backoff;
        this.clock = clock;
        this.waiter = waiter;
        this.leaseMillis = leaseTtl.toMillis();
        this.batchSize = batchSize;
    }

    /** Starts relaying on a thread of its own. */
    public synchronized void start() {
        if (thread != null) {
            throw new IllegalStateException("outbox relay: already started");
        }
        thread = new Thread(this::loop, "outbox-relay");
        thread.setDaemon(true);
        thread.start();
    }

    /** A row was written: look now rather than at the next scheduled pass. */
    public void wake() {
        waiter.signal();
    }

    public long deliveredCount() {
        return delivered.get();
    }

    public long failedAttemptCount() {
        return failedAttempts.get();
    }

    private void loop() {
        while (!closed) {
            long wait;
            try {
                wait = runOnce(false);
            } catch (SQLException | RuntimeException e) {
                if (closed) {
                    break;
                }
                log.warn("outbox relay pass failed: {}", e.toString());
                wait = backoff.max().toMillis();
            }
            try {
                if (!closed) {
                    waiter.await(wait);
                }
            } catch (InterruptedException e) {
                break;
            }
        }
    }

    /**
     * One pass: takes or renews the lease, then sends every row that is due (with {@code ignoreSchedule},
     * every user's oldest undelivered row, once, regardless of its backoff). Returns how long to wait
     * before the next pass, in milliseconds.
     */
    public long runOnce(boolean ignoreSchedule) throws SQLException {
        long maxWait = Math.max(1, leaseMillis / 3);
        long now = clock.millis();
        if (!store.tryLease(LEASE, owner, now, now + leaseMillis)) {
            return maxWait;
        }
        Set<Long> attempted = new HashSet<>();
        while (!closed || ignoreSchedule) {
            List<OutboxMessage> due = store.due(clock.millis(), ignoreSchedule, batchSize + attempted.size());
            List<OutboxMessage> fresh = due.stream().filter(m -> !attempted.contains(m.seq())).toList();
            if (fresh.isEmpty()) {
                break;
            }
            for (OutboxMessage m : fresh) {
                attempted.add(m.seq());
                if (!send(m) && ignoreSchedule) {
                    // final flush: the subscriber is unreachable; the rows wait for the next start
                    return 0;
                }
            }
            if (clock.millis() - now > leaseMillis / 2) {
                // a long pass: renew so that another instance does not take over mid-way
                now = clock.millis();
                if (!store.tryLease(LEASE, owner, now, now + leaseMillis)) {
                    return maxWait;
                }
            }
        }
        prune();
        OptionalLong next = store.nextDueAt();
        if (next.isEmpty()) {
            return maxWait;
        }
        return Math.max(0, Math.min(maxWait, next.getAsLong() - clock.millis()));
    }

    private void prune() throws SQLException {
        long now = clock.millis();
        if (lastPrune != Long.MIN_VALUE && now - lastPrune < PRUNE_EVERY_MILLIS) {
            return;
        }
        lastPrune = now;
        int pruned = store.pruneDelivered(now - RETENTION_MILLIS);
        if (pruned > 0) {
            log.debug("pruned {} delivered outbox row(s)", pruned);
        }
    }

    private boolean send(OutboxMessage m) throws SQLException {
        TraceHeaders.of(m.headers()).putMdc();
        try {
            String failure;
            try {
                failure = delivery.deliver(m);
            } catch (RuntimeException e) {
                failure = e.toString();
            }
            if (failure == null) {
                store.markDelivered(m.seq(), clock.millis());
                delivered.incrementAndGet();
                log.info("delivered {} {} for user {} after {} failed attempt(s)", m.topic(), m.eventId(),
                        m.aggregateId(), m.attempts());
                return true;
            }
            failedAttempts.incrementAndGet();
            int attempts = m.attempts() + 1;
            Duration delay = backoff.delay(attempts);
            store.markFailed(m.seq(), attempts, clock.millis() + delay.toMillis(), failure);
            log.warn("could not deliver {} {} for user {} (attempt {}): {}; retrying in {} ms", m.topic(), m.eventId(),
                    m.aggregateId(), attempts, failure, delay.toMillis());
            return false;
        } finally {
            TraceHeaders.clearMdc();
        }
    }

    /**
     * Stops the relay thread, then gives the pending rows one more try (until the first failure) and releases the lease so that a successor can relay at once.
     */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            closed = true;
            t = thread;
        }
        waiter.signal();
        if (t != null) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            runOnce(true);
        } catch (SQLException | RuntimeException e) {
            log.warn("outbox relay: final flush failed: {}", e.toString());
        }
        try {
            long pending = store.pendingCount();
            if (pending > 0) {
                log.info("outbox relay stopped with {} row(s) pending; they are sent after the next start", pending);
            }
            store.releaseLease(LEASE, owner);
        } catch (SQLException e) {
            log.warn("outbox relay: could not release the lease: {}", e.toString());
        }
    }
}
