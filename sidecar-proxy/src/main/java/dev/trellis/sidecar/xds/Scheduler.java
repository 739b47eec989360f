package dev.trellis.sidecar.xds;

import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The one thread (or test double) that runs a client's state machine and its timers, so the
 * xDS and registration clients need no locks and their timing is tested without sleeping.
 */
public interface Scheduler {
    /** Runs {@code task} soon, after tasks already submitted. */
    void execute(Runnable task);

    /** Runs {@code task} after {@code delay}; the result cancels it. */
    Future<?> schedule(Runnable task, Duration delay);

    /** A scheduler over a single-threaded executor. */
    static Scheduler of(ScheduledExecutorService executor) {
        return new Scheduler() {
            @Override
            public void execute(Runnable task) {
                try {
                    executor.execute(task);
                } catch (RejectedExecutionException e) {
                    // shut down: late gRPC callbacks have nothing left to do
                }
            }

            @Override
            public Future<?> schedule(Runnable task, Duration delay) {
                try {
                    return executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    return java.util.concurrent.CompletableFuture.completedFuture(null);
                }
            }
        };
    }
}
