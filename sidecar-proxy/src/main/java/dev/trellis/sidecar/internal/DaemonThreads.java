package dev.trellis.sidecar.internal;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The sidecar's own named threads outside the event loops. They are daemons so that none of them
 * holds the JVM open once {@code main} and the shutdown hook are done; the name is what a thread
 * dump or a watchdog log line shows.
 */
public final class DaemonThreads {
    private DaemonThreads() {}

    /** A scheduler that runs everything on one daemon thread called {@code name}. */
    public static ScheduledExecutorService scheduler(String name) {
        return Executors.newSingleThreadScheduledExecutor(task -> create(name, task));
    }

    /** Runs {@code task} on a new daemon thread called {@code name}, started before this returns. */
    public static Thread start(String name, Runnable task) {
        Thread t = create(name, task);
        t.start();
        return t;
    }

    private static Thread create(String name, Runnable task) {
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        return t;
    }
}
