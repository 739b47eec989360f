package dev.trellis.bench.load;

/** Runs a task later on the driver's thread; injected so tests control time. */
@FunctionalInterface
public interface Scheduler {
    void schedule(Runnable task, long delayNanos);
}
