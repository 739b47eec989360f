package dev.trellis.sidecar.run;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an app behind its sidecar, both as child processes: the sidecar first, the app once the
 * sidecar's {@code /ready} answers 200. On {@link #stop()} (SIGTERM, SIGINT) the sidecar goes first:
 * it deregisters, waits until the proxies that call this service have acknowledged the removal and
 * drains; then the app gets SIGTERM. Whichever process ends on its own takes the other one down.
 * Each step is bounded; a process that outlives its bound is killed with its descendants.
 */
public final class Supervisor {
    private static final Logger log = LoggerFactory.getLogger(Supervisor.class);
    /** Exit code when stopped by a signal before the app ran (128 + SIGTERM). */
    public static final int STOPPED = 143;
    /** Exit code when the sidecar could not start or failed. */
    public static final int SIDECAR_FAILED = 1;
    /** Exit code when the app could not be started (as a shell does for a command it cannot run). */
    public static final int APP_NOT_STARTED = 127;

    private final RunSpec spec;
    private final List<String> sidecarCommand;
    private final CompletableFuture<String> stopRequested = new CompletableFuture<>();
    private volatile boolean forced;
    private volatile Process sidecar;
    private volatile Process app;

    /**
     * @param spec           what to run
     * @param sidecarCommand the whole command line that starts the sidecar (see {@link #sidecarCommand})
     */
    public Supervisor(RunSpec spec, List<String> sidecarCommand) {
        this.spec = spec;
        this.sidecarCommand = List.copyOf(sidecarCommand);
    }

    /**
     * The sidecar as a child JVM on this JVM's class path: {@code java [javaOpts] -cp CP
     * dev.trellis.sidecar.cli.SidecarMain sidecar ARGS}.
     */
    public static List<String> sidecarCommand(List<String> javaOpts, List<String> sidecarArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(javaOpts);
        String home = System.getProperty("trellis.home");
        if (home != null) {
            cmd.add("-Dtrellis.home=" + home);
        }
        cmd.add("-cp");
        cmd.add(classPath());
        cmd.add("dev.trellis.sidecar.cli.SidecarMain");
        cmd.add("sidecar");
        cmd.addAll(sidecarArgs);
        return cmd;
    }

    /** This JVM's class path with absolute entries, so that a child may run in another directory. */
    public static String classPath() {
        StringBuilder sb = new StringBuilder();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                sb.append(sb.length() > 0 ? File.pathSeparator : "").append(new File(entry).getAbsolutePath());
            }
        }
        return sb.toString();
    }

    /** The java binary of this JVM. */
    public static String javaBinary() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    /** Asks for a graceful stop (idempotent); {@link #run()} then returns the app's exit code. */
    public void stop(String why) {
        if (stopRequested.complete(why)) {
            log.info("{}: stopping {} (sidecar first, then the app)", why, spec.service());
        } else {
            log.info("{} again: killing the sidecar and the app now", why);
            forced = true;
            kill(sidecar);
            kill(app);
        }
    }

    /** True once a stop was asked for. */
    public boolean stopping() {
        return stopRequested.isDone();
    }

    /** Runs both processes until the app ends or a stop is asked for; returns the exit code for this process. */
    public int run() throws InterruptedException {
        try {
            sidecar = start(sidecarCommand, false, "sidecar");
        } catch (IOException e) {
            System.err.println("trellis run: cannot start the sidecar (" + sidecarCommand.get(0) + "): " + e.getMessage());
            return SIDECAR_FAILED;
        }
        try {
            int notReady = awaitSidecarReady();
            if (notReady >= 0) {
                stopProcess(sidecar, spec.removalTimeout(), "sidecar");
                return notReady;
            }
            try {
                app = start(spec.appCommand(), true, "app");
            } catch (IOException e) {
                System.err.println("trellis run: cannot start the app '" + String.join(" ", spec.appCommand())
                        + "': " + e.getMessage());
                stopProcess(sidecar, spec.removalTimeout(), "sidecar");
                return APP_NOT_STARTED;
            }
            log.info("{}: app started (pid {}) with {}", spec.service(), app.pid(), spec.upstreamEnv());
            return supervise();
        } finally {
            kill(app);
            kill(sidecar);
        }
    }

    private int supervise() throws InterruptedException {
        Process a = app;
        Process s = sidecar;
        try {
            CompletableFuture.anyOf(a.onExit(), s.onExit(), stopRequested).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        if (stopRequested.isDone()) {
            // Sidecar first: it leaves the registry and waits until its callers stopped sending here,
            // then drains what is in flight; only then may the app stop.
            stopProcess(s, spec.removalTimeout(), "sidecar");
            stopProcess(a, spec.appStopTimeout(), "app");
            int code = a.exitValue();
            log.info("{}: stopped; app exit code {}", spec.service(), code);
            return code;
        }
        if (!a.isAlive()) {
            int code = a.exitValue();
            log.info("{}: app exited with code {}; stopping the sidecar", spec.service(), code);
            stopProcess(s, spec.removalTimeout(), "sidecar");
            return code;
        }
        int sidecarCode = s.exitValue();
        System.err.println("trellis run: the sidecar of " + spec.service() + " exited with code " + sidecarCode
                + " while the app was running; stopping the app");
        stopProcess(a, spec.appStopTimeout(), "app");
        return SIDECAR_FAILED;
    }

    /** -1 when ready, else the exit code to return. */
    private int awaitSidecarReady() throws InterruptedException {
        URI ready = URI.create(spec.adminUrl("/ready"));
        long deadline = System.nanoTime() + spec.readyTimeout().toNanos();
        String last = "no answer";
        while (true) {
            if (stopRequested.isDone()) {
                return STOPPED;
            }
            if (!sidecar.isAlive()) {
                System.err.println("trellis run: the sidecar of " + spec.service() + " exited with code "
                        + sidecar.exitValue() + " before it was ready"
                        + spec.sidecarLog().map(p -> " (its log: " + p + ")").orElse(""));
                return SIDECAR_FAILED;
            }
            int status = probe(ready);
            if (status == 200) {
                log.info("{}: sidecar ready ({})", spec.service(), ready);
                return -1;
            }
            last = status < 0 ? "no answer" : String.valueOf(status);
            if (System.nanoTime() - deadline >= 0) {
                System.err.println("trellis run: the sidecar of " + spec.service() + " was not ready after "
                        + spec.readyTimeout().toMillis() + " ms: GET " + ready + " -> " + last
                        + " (expected: 200; is the control plane reachable?)");
                return SIDECAR_FAILED;
            }
            try {
                stopRequested.get(100, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // poll again
            }
        }
    }

    private static int probe(URI uri) {
        try {
            HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            try {
                int status = c.getResponseCode();
                try (InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream()) {
                    if (in != null) {
                        in.readAllBytes();
                    }
                }
                return status;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return -1;
        }
    }

    private Process start(List<String> command, boolean isApp, String what) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (isApp) {
            pb.environment().putAll(spec.upstreamEnv());
            pb.inheritIO();
        } else {
            // fewer glibc malloc arenas keep the sidecar's native memory small (README, "Sidecar JVM settings")
            pb.environment().putIfAbsent("MALLOC_ARENA_MAX", "2");
            pb.redirectInput(ProcessBuilder.Redirect.INHERIT);
            if (spec.sidecarLog().isPresent()) {
                File f = spec.sidecarLog().get().toFile();
                pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(f));
            } else {
                pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
            }
        }
        Process p = pb.start();
        log.debug("{}: {} started, pid {}", spec.service(), what, p.pid());
        return p;
    }

    /** SIGTERM, wait up to {@code bound}, then SIGKILL (with descendants). */
    private void stopProcess(Process p, Duration bound, String what) throws InterruptedException {
        if (p == null) {
            return;
        }
        List<ProcessHandle> descendants = p.descendants().toList();
        if (p.isAlive() && !forced) {
            p.destroy();
            if (!p.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("{}: {} (pid {}) still running {} ms after SIGTERM; killing it", spec.service(), what,
                        p.pid(), bound.toMillis());
            }
        }
        kill(p);
        p.waitFor();
        // what the process started and left behind (a shell's background job) goes too
        descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    private static void kill(Process p) {
        if (p == null) {
            return;
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        if (p.isAlive()) {
            p.destroyForcibly();
        }
    }
}
