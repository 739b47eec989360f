package dev.trellis.controlplane.registry;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs a task after a delay; injected so tests can move time by hand. */
@FunctionalInterface
public interface Scheduler {
    /** Schedules {@code task}; the returned handle cancels it. */
    Runnable schedule(Runnable task, Duration delay);

    static Scheduler of(ScheduledExecutorService executor) {
        return (task, delay) -> {
            var f = executor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        };
    }
}
