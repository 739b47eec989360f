package dev.trellis.bench.load;

import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Watches the benchmark JVM's own event loops (load generator and echo backend) for stalls: a task
 * on each loop asks to run every {@code period}, and how late it runs is that loop's lag. A GC pause
 * or descheduling of this JVM shows up here, a stall of a proxy does not, so the largest lag of a
 * phase says on which side of the wire a slow phase was.
 */
public final class LoopLag implements AutoCloseable {
    /** The largest lag of a window and the wall-clock time the late task finally ran. */
    public record Max(long nanos, Instant at) {}

    private final long periodNanos;
    private final LongSupplier ticker;
    private final Supplier<Instant> clock;
    private long maxNanos;
    private Instant maxAt;
    private volatile boolean closed;

    LoopLag(Duration period, LongSupplier ticker, Supplier<Instant> clock) {
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("period: " + period + " (expected: > 0)");
        }
        this.periodNanos = period.toNanos();
        this.ticker = ticker;
        this.clock = clock;
    }

    /** Starts watching every loop of {@code loops}, asking each to run a task every {@code period}. */
    public static LoopLag watch(Iterable<EventExecutor> loops, Duration period) {
        LoopLag lag = new LoopLag(period, System::nanoTime, Instant::now);
        loops.forEach(lag::arm);
        return lag;
    }

    private void arm(EventExecutor loop) {
        if (closed || loop.isShuttingDown()) {
            return;
        }
        long due = ticker.getAsLong() + periodNanos;
        loop.schedule(() -> {
            record(ticker.getAsLong() - due);
            arm(loop);
        }, periodNanos, TimeUnit.NANOSECONDS);
    }

    synchronized void record(long lateNanos) {
        if (lateNanos > maxNanos) {
            maxNanos = lateNanos;
            maxAt = clock.get();
        }
    }

    /** The largest lag since the previous call (or the start), then starts a new window; null if none was seen. */
    public synchronized Max takeMax() {
        Max m = maxAt == null ? null : new Max(maxNanos, maxAt);
        maxNanos = 0;
        maxAt = null;
        return m;
    }

    @Override
    public void close() {
        closed = true;
    }
}
