package dev.trellis.bench.load;

import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Keeps a fixed number of requests in flight on one connection for as long as it runs, sending the
 * next as soon as one completes: the closed-loop mode that finds the maximum throughput. Latency is
 * measured from the send, as a closed loop has no intended times. Requests sent before
 * {@code measureFrom} are warm-up. Not thread-safe: everything runs on the exchange's executor.
 */
public final class ClosedLoopDriver {
    private final Exchange exchange;
    private final LongSupplier ticker;
    private final Progress progress;
    private final int depth;
    private final long measureFrom;
    private final long end;

    private final PhaseStats measured = new PhaseStats();
    private final CompletableFuture<PhaseStats> done = new CompletableFuture<>();
    private int inFlight;
    private boolean pumping;
    private boolean abandoned;

    public ClosedLoopDriver(Exchange exchange, LongSupplier ticker, Progress progress, int depth, long measureFrom, long end) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth: " + depth + " (expected: >= 1)");
        }
        this.exchange = exchange;
        this.ticker = ticker;
        this.progress = progress;
        this.depth = Math.min(depth, Math.max(1, exchange.maxConcurrency()));
        this.measureFrom = measureFrom;
        this.end = end;
    }

    /** Starts sending; call on the exchange's executor. */
    public CompletableFuture<PhaseStats> start() {
        pump();
        return done;
    }

    private void pump() {
        if (pumping) {
            return;
        }
        pumping = true;
        try {
            while (!abandoned && inFlight < depth) {
                long now = ticker.getAsLong();
                if (now >= end) {
                    break;
                }
                inFlight++;
                exchange.send(error -> complete(now, error));
            }
        } finally {
            pumping = false;
        }
        if (inFlight == 0 && !done.isDone()) {
            done.complete(measured);
        }
    }

    private void complete(long sentAt, String error) {
        if (abandoned) {
            return;
        }
        long now = ticker.getAsLong();
        inFlight--;
        boolean measure = sentAt >= measureFrom && sentAt < end;
        if (error == null) {
            if (measure) {
                measured.success(sentAt, now - sentAt, now - sentAt);
            }
            progress.ok();
        } else {
            if (measure) {
                measured.error(error, 1);
            }
            progress.errors(1);
        }
        pump();
    }

    /** Gives up on in-flight requests after the drain deadline, counting them as errors. */
    public void abandon() {
        if (done.isDone()) {
            return;
        }
        abandoned = true;
        if (inFlight > 0) {
            measured.error("not completed by the drain deadline", inFlight);
        }
        done.complete(measured);
    }
}
