package dev.trellis.sidecar.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One process of the demo, its output appended to a log file. Started in a session of its own
 * (with {@code setsid} where there is one), so that a Ctrl-C in the terminal reaches only the demo,
 * which then stops its processes in order.
 */
final class ChildProcess {
    private static final Path SETSID = findSetsid();

    final String name;
    final Path log;
    final Process process;

    private ChildProcess(String name, Path log, Process process) {
        this.name = name;
        this.log = log;
        this.process = process;
    }

    static ChildProcess start(String name, List<String> command, Path log, Path workDir) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (SETSID != null) {
            cmd.add(SETSID.toString());
        }
        cmd.addAll(command);
        Files.createDirectories(log.getParent());
        Files.writeString(log, "=== " + java.time.Instant.now() + " " + String.join(" ", command) + "\n",
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        Process p = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        return new ChildProcess(name, log, p);
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** SIGTERM. */
    void terminate() {
        if (process.isAlive()) {
            process.destroy();
        }
    }

    /** Waits up to {@code bound}; true when the process has exited. */
    boolean awaitExit(Duration bound) throws InterruptedException {
        return process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** SIGKILL, descendants first. */
    void kill() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /** The last lines of the log, for error messages. */
    String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    private static Path findSetsid() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, "setsid");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
