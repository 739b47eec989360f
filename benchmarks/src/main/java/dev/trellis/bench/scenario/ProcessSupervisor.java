package dev.trellis.bench.scenario;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Starts the proxies under test as child processes and guarantees they end: each is stopped with
 * its descendants (nginx workers) when its scenario ends, and a shutdown hook stops whatever is
 * left if the benchmark is interrupted.
 */
public final class ProcessSupervisor implements AutoCloseable {
    private static final Duration GRACE = Duration.ofSeconds(5);

    private final List<Process> running = new CopyOnWriteArrayList<>();
    private final List<Path> scratch = new CopyOnWriteArrayList<>();
    private final Thread hook = new Thread(this::cleanUp, "bench-process-cleanup");

    public ProcessSupervisor() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * Deletes {@code dir} when the run is interrupted, after the processes that write into it have
     * stopped (the normal path deletes it itself).
     */
    public void deleteOnInterrupt(Path dir) {
        scratch.add(dir);
    }

    private void cleanUp() {
        stopAll();
        for (Path dir : scratch) {
            try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | RuntimeException e) {
                // best effort: it is under the temp folder
            }
        }
    }

    /** Starts {@code command} with stdout and stderr going to {@code log}. */
    public Process start(List<String> command, Path log) throws IOException {
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        running.add(p);
        return p;
    }

    /**
     * Waits until {@code address} accepts connections. Throws {@link StartFailure} if the process
     * exits first (with its exit code and the end of its log) or the timeout passes.
     */
    public static void awaitListening(Process p, InetSocketAddress address, Duration timeout, Path log)
            throws StartFailure, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!p.isAlive()) {
                throw new StartFailure(p.exitValue(), tail(log, 20));
            }
            try (Socket s = new Socket()) {
                s.connect(address, 200);
                return;
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new StartFailure(-1, "not listening on " + address.getHostString() + ":" + address.getPort()
                        + " after " + timeout.toSeconds() + "s; log:\n" + tail(log, 20));
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    /** The last {@code lines} lines of a log file, or a note that it could not be read. */
    public static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(log " + log + " unreadable: " + e.getMessage() + ")";
        }
    }

    /** Stops {@code p} and its descendants: SIGTERM, then SIGKILL after a grace period. */
    public void stop(Process p) {
        stopTree(p.toHandle());
        running.remove(p);
    }

    static void stopTree(ProcessHandle root) {
        // collect first: once the parent dies its children are re-parented and lost to descendants()
        List<ProcessHandle> tree = new ArrayList<>(root.descendants().toList());
        tree.add(0, root);
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + GRACE.toNanos();
        for (ProcessHandle h : tree) {
            long left = deadline - System.nanoTime();
            try {
                h.onExit().get(Math.max(1, left), TimeUnit.NANOSECONDS);
            } catch (Exception e) {
                // still alive: forced below
            }
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    /** Stops every process started so far (the shutdown hook stays for later ones). */
    public void stopAll() {
        for (Process p : running) {
            stopTree(p.toHandle());
        }
        running.clear();
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or will: nothing left to do
        }
    }

    /** A process that did not come up: its exit code ({@code -1} if it is still running) and log tail. */
    public static final class StartFailure extends Exception {
        private static final long serialVersionUID = 1L;
        private final int exitCode;

        public StartFailure(int exitCode, String detail) {
            super(detail, null, false, false);
            this.exitCode = exitCode;
        }

        public int exitCode() {
            return exitCode;
        }
    }
}
