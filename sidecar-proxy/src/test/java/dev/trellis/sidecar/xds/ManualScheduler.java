package dev.trellis.sidecar.xds;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Future;

/** A {@link Scheduler} a test drives by hand: tasks run when the test says, timers fire when it advances time. */
final class ManualScheduler implements Scheduler {
    private final ConcurrentLinkedQueue<Runnable> ready = new ConcurrentLinkedQueue<>();
    private final List<Timer> timers = new ArrayList<>();
    private long nowNanos;

    record Timer(long at, Duration delay, Runnable task, CompletableFuture<Void> handle) {}

    @Override
    public void execute(Runnable task) {
        ready.add(task);
    }

    @Override
    public synchronized Future<?> schedule(Runnable task, Duration delay) {
        Timer t = new Timer(nowNanos + delay.toNanos(), delay, task, new CompletableFuture<>());
        timers.add(t);
        return t.handle();
    }

    /** Runs the tasks queued so far (and those they queue); returns how many ran. */
    int runReady() {
        int n = 0;
        Runnable r;
        while ((r = ready.poll()) != null) {
            r.run();
            n++;
        }
        return n;
    }

    boolean hasReady() {
        return !ready.isEmpty();
    }

    /** Delays of the timers not yet fired or cancelled. */
    synchronized List<Duration> pendingDelays() {
        return timers.stream().filter(t -> !t.handle().isCancelled()).map(Timer::delay).toList();
    }

    /** Moves the clock; due timers run in order. */
    void advance(Duration d) {
        List<Timer> due = new ArrayList<>();
        synchronized (this) {
            nowNanos += d.toNanos();
            for (Timer t : List.copyOf(timers)) {
                if (t.at() <= nowNanos) {
                    timers.remove(t);
                    if (!t.handle().isCancelled()) {
                        due.add(t);
                    }
                }
            }
        }
        due.forEach(t -> t.task().run());
        runReady();
    }
}
