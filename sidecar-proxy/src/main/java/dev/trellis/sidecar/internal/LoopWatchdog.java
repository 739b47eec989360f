package dev.trellis.sidecar.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's worker watchdog for event loops: each loop is asked to run a heartbeat task every half
 * {@code missTimeout}; a loop whose heartbeat waits longer than {@code missTimeout} has stalled (a
 * blocking call, a long task, or the process not running), which every request on that loop
 * waits out. A miss is reported once, with where the loop's thread is at that moment, and again
 * when the heartbeat finally runs, with how long the loop stalled and how late the watchdog itself
 * was (if it was late by about as much, the whole process was not running, not just the loop).
 */
public final class LoopWatchdog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LoopWatchdog.class);

    /** A stall of one loop; {@code recovered} false while it lasts, true once the heartbeat ran. */
    public record Miss(String loop, long stalledNanos, long watchdogLateNanos, boolean recovered, String stack) {}

    private final long missNanos;
    private final LongSupplier ticker;
    private final Consumer<Miss> onMiss;
    private final List<Watched> loops = new ArrayList<>();
    private long nextCheck = Long.MIN_VALUE;
    private volatile long lastLate;
    private ScheduledFuture<?> task;
    /** The thread {@link #watch} started, shut down on close. */
    private ScheduledExecutorService ownedTimer;

    private static final class Watched {
        final EventExecutor loop;
        volatile long postedAt = -1;
        volatile Thread thread;
        volatile boolean missed;

        Watched(EventExecutor loop) {
            this.loop = loop;
        }
    }

    public LoopWatchdog(Iterable<EventExecutor> loops, Duration missTimeout, LongSupplier ticker, Consumer<Miss> onMiss) {
        if (missTimeout.isNegative() || missTimeout.isZero()) {
            throw new IllegalArgumentException("missTimeout: " + missTimeout + " (expected: > 0)");
        }
        this.missNanos = missTimeout.toNanos();
        this.ticker = ticker;
        this.onMiss = onMiss;
        loops.forEach(l -> this.loops.add(new Watched(l)));
    }

    /**
     * Watches every loop of {@code loops} from a {@code trellis-watchdog} thread, logging each stall
     * with the loop's stack and counting it in {@code trellis.event.loop.stalls}; {@link #close()}
     * stops the thread. {@code setting} names where {@code missTimeout} came from, for the meter's
     * description.
     */
    public static LoopWatchdog watch(EventLoopGroup loops, Duration missTimeout, String setting, MeterRegistry registry) {
        Counter stalls = Counter.builder("trellis.event.loop.stalls")
                .description("Times an event loop went longer than " + setting + " without running a task")
                .register(registry);
        List<EventExecutor> executors = new ArrayList<>();
        loops.forEach(executors::add);
        LoopWatchdog watchdog = new LoopWatchdog(executors, missTimeout, System::nanoTime, m -> {
            if (m.recovered()) {
                log.warn("event loop {} ran again after a stall of {} ms (watchdog {} ms late)", m.loop(),
                        m.stalledNanos() / 1_000_000, m.watchdogLateNanos() / 1_000_000);
            } else {
                stalls.increment();
                log.warn("event loop {} has run no task for {} ms (watchdog {} ms late: if about as long, the whole "
                        + "process was not running); its thread is at:\n{}", m.loop(), m.stalledNanos() / 1_000_000,
                        m.watchdogLateNanos() / 1_000_000, m.stack());
            }
        });
        ScheduledExecutorService timer = DaemonThreads.scheduler("trellis-watchdog");
        watchdog.ownedTimer = timer;
        return watchdog.start(timer);
    }

    /** Runs {@link #check()} on {@code scheduler} every half miss timeout. */
    public LoopWatchdog start(ScheduledExecutorService scheduler) {
        long period = Math.max(1, missNanos / 2);
        task = scheduler.scheduleWithFixedDelay(this::check, period, period, TimeUnit.NANOSECONDS);
        return this;
    }

    /** Reports loops whose heartbeat is overdue and posts a heartbeat to loops that have none pending. */
    public synchronized void check() {
        long now = ticker.getAsLong();
        if (nextCheck != Long.MIN_VALUE) {
            lastLate = Math.max(0, now - nextCheck);
        }
        nextCheck = now + Math.max(1, missNanos / 2);
        for (Watched w : loops) {
            long posted = w.postedAt;
            if (posted < 0) {
                post(w, now);
            } else if (!w.missed && now - posted > missNanos) {
                w.missed = true;
                onMiss.accept(new Miss(name(w), now - posted, lastLate, false, stack(w.thread)));
            }
        }
    }

    private void post(Watched w, long now) {
        if (w.loop.isShuttingDown()) {
            return;
        }
        w.postedAt = now;
        w.loop.execute(() -> {
            w.thread = Thread.currentThread();
            if (w.missed) {
                w.missed = false;
                onMiss.accept(new Miss(name(w), ticker.getAsLong() - w.postedAt, lastLate, true, ""));
            }
            w.postedAt = -1;
        });
    }

    private static String name(Watched w) {
        Thread t = w.thread;
        return t != null ? t.getName() : String.valueOf(w.loop);
    }

    private static String stack(Thread t) {
        if (t == null) {
            return "";
        }
        return Arrays.stream(t.getStackTrace()).limit(40).map(e -> "\tat " + e).collect(Collectors.joining("\n"));
    }

    @Override
    public void close() {
        if (task != null) {
            task.cancel(false);
        }
        if (ownedTimer != null) {
            ownedTimer.shutdownNow();
        }
    }
}
