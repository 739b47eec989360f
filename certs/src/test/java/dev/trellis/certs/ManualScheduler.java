package dev.trellis.certs;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** A scheduler driven by a {@link MutableClock}: tasks run when the test calls {@link #runDue()}. */
final class ManualScheduler extends AbstractExecutorService implements ScheduledExecutorService {
    private final MutableClock clock;
    private final List<Task> tasks = new ArrayList<>();

    ManualScheduler(MutableClock clock) {
        this.clock = clock;
    }

    final class Task implements ScheduledFuture<Object> {
        final Instant due;
        final Runnable body;
        volatile boolean cancelled;
        volatile boolean done;

        Task(Instant due, Runnable body) {
            this.due = due;
            this.body = body;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due.toEpochMilli() - clock.millis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.MILLISECONDS), o.getDelay(TimeUnit.MILLISECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterrupt) {
            if (done) {
                return false;
            }
            cancelled = true;
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }

        @Override
        public Object get() {
            return null;
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            return null;
        }
    }

    /** Runs every task due at the clock's current time, including ones those tasks schedule for now. */
    int runDue() {
        int ran = 0;
        while (true) {
            Task next;
            synchronized (tasks) {
                next = tasks.stream().filter(t -> !t.cancelled && !t.due.isAfter(clock.instant()))
                        .min(Comparator.comparing(t -> t.due)).orElse(null);
                if (next == null) {
                    return ran;
                }
                tasks.remove(next);
            }
            next.done = true;
            next.body.run();
            ran++;
        }
    }

    /** Pending (not cancelled) tasks, earliest first. */
    List<Instant> pendingDueTimes() {
        synchronized (tasks) {
            return tasks.stream().filter(t -> !t.cancelled).map(t -> t.due).sorted().toList();
        }
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        Task t = new Task(clock.instant().plusMillis(unit.toMillis(delay)), command);
        synchronized (tasks) {
            tasks.add(t);
        }
        return t;
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        throw new IllegalStateException("ManualScheduler: schedule(Callable) is not used by the code under test");
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        throw new IllegalStateException("ManualScheduler: periodic tasks are not used by the code under test");
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new IllegalStateException("ManualScheduler: periodic tasks are not used by the code under test");
    }

    @Override
    public void execute(Runnable command) {
        schedule(command, 0, TimeUnit.MILLISECONDS);
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return false;
    }

    @Override
    public boolean isTerminated() {
        return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return true;
    }
}
