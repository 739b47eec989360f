package dev.trellis.bench.load;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Sends requests on one connection at fixed intended times and measures each request's latency
 * from its intended time, not from when it could finally be written. When the connection is busy
 * (an HTTP/1.1 response is late, or HTTP/2 streams are exhausted) due requests wait in a queue and
 * the wait counts as latency: this is the coordinated-omission correction of wrk2 and fortio, so a
 * stall shows up as the many slow requests it caused rather than as one.
 *
 * <p>Request {@code k} of connection {@code index} (of {@code connections}) is intended at
 * {@code start + (index + k * connections) * 1e9 / rate}, so the connections together send an even
 * stream at {@code rate}. Requests intended before {@code measureFrom} are warm-up and not recorded.
 * Not thread-safe: everything runs on the exchange's executor.
 */
public final class OpenLoopDriver {
    private final Exchange exchange;
    private final LongSupplier ticker;
    private final Scheduler scheduler;
    private final Progress progress;
    private final long start;
    private final double nanosPerRequest;
    private final int index;
    private final int connections;
    private final long measureFrom;
    private final long count;
    private final int maxInFlight;

    private final ArrayDeque<Long> due = new ArrayDeque<>();
    private final PhaseStats measured = new PhaseStats();
    private final PhaseStats warmup = new PhaseStats();
    private final CompletableFuture<PhaseStats> done = new CompletableFuture<>();
    private long next;
    private int inFlight;
    private boolean dispatching;
    private boolean abandoned;

    /**
     * @param start       intended time of the first request of the whole run (ticker nanos)
     * @param measureFrom requests intended at or after this are measured
     * @param end         no request is intended at or after this
     */
    public OpenLoopDriver(Exchange exchange, LongSupplier ticker, Scheduler scheduler, Progress progress,
                          int rate, int index, int connections, long start, long measureFrom, long end) {
        if (rate <= 0) {
            throw new IllegalArgumentException("rate: " + rate + " (expected: > 0)");
        }
        if (index < 0 || index >= connections) {
            throw new IllegalArgumentException("index: " + index + " (expected: 0.." + (connections - 1) + ")");
        }
        this.exchange = exchange;
        this.ticker = ticker;
        this.scheduler = scheduler;
        this.progress = progress;
        this.start = start;
        this.nanosPerRequest = 1e9 / rate;
        this.index = index;
        this.connections = connections;
        this.measureFrom = measureFrom;
        this.maxInFlight = Math.max(1, exchange.maxConcurrency());
        // count = the first k whose intended time is at or after end
        double span = (end - start) / nanosPerRequest - index;
        long k = span <= 0 ? 0 : (long) Math.ceil(span / connections);
        while (k > 0 && intended(k - 1) >= end) {
            k--;
        }
        while (intended(k) < end) {
            k++;
        }
        this.count = k;
    }

    /** Intended send time of this connection's request {@code k}. */
    long intended(long k) {
        return start + (long) ((index + (double) k * connections) * nanosPerRequest);
    }

    /** Requests this driver will send in all (warm-up included). */
    public long plannedRequests() {
        return count;
    }

    /** Starts sending; call on the exchange's executor. */
    public CompletableFuture<PhaseStats> start() {
        tick();
        return done;
    }

    /** Completes with the measured statistics once every planned request has finished. */
    public CompletableFuture<PhaseStats> done() {
        return done;
    }

    /** Statistics of the warm-up requests (discarded by reports, kept for sanity checks). */
    PhaseStats warmupStats() {
        return warmup;
    }

    void tick() {
        if (abandoned) {
            return;
        }
        long now = ticker.getAsLong();
        while (next < count && intended(next) <= now) {
            due.add(intended(next));
            next++;
        }
        dispatch();
        if (next < count) {
            scheduler.schedule(this::tick, Math.max(0, intended(next) - now));
        }
        checkDone();
    }

    private void dispatch() {
        if (dispatching) {
            return;
        }
        dispatching = true;
        try {
            while (!abandoned && inFlight < maxInFlight && !due.isEmpty()) {
                long intended = due.poll();
                inFlight++;
                long sentAt = ticker.getAsLong();
                exchange.send(error -> complete(intended, sentAt, error));
            }
        } finally {
            dispatching = false;
        }
    }

    private void complete(long intended, long sentAt, String error) {
        if (abandoned) {
            return;
        }
        long now = ticker.getAsLong();
        inFlight--;
        PhaseStats stats = intended >= measureFrom ? measured : warmup;
        if (error == null) {
            stats.success(intended, now - intended, now - sentAt);
            progress.ok();
        } else {
            stats.error(error, 1);
            progress.errors(1);
        }
        dispatch();
        checkDone();
    }

    private void checkDone() {
        if (next >= count && due.isEmpty() && inFlight == 0 && !done.isDone()) {
            done.complete(measured);
        }
    }

    /**
     * Gives up on what has not completed by the drain deadline: queued and in-flight measured
     * requests count as errors, late completions are ignored. Call on the exchange's executor.
     */
    public void abandon() {
        if (done.isDone()) {
            return;
        }
        abandoned = true;
        long unfinished = 0;
        for (Long intended : due) {
            if (intended >= measureFrom) {
                unfinished++;
            }
        }
        unfinished += inFlight; // in-flight ones were due earliest, almost always in the measured window
        long unsent = Math.max(0, count - next);
        if (unfinished + unsent > 0) {
            measured.error("not completed by the drain deadline", unfinished + unsent);
            progress.errors(unfinished + unsent);
        }
        due.clear();
        done.complete(measured);
    }
}
