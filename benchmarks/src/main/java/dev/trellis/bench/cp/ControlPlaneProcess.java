package dev.trellis.bench.cp;

import dev.trellis.bench.scenario.ProcStats;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The control plane under test in a child JVM ({@link ControlPlaneHost}) started with this JVM's
 * java and class path: its log goes to a file, its replies (heap, CPU, registry and proxy counts)
 * come back over stdout.
 */
final class ControlPlaneProcess implements AutoCloseable {
    private final Process process;
    private final Writer commands;
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    private final Thread pump;
    private final Thread hook;
    private final Path log;
    final int grpcPort;
    final int adminPort;
    final Path dataDir;
    final List<String> jvmOptions;

    /** One {@code stats} or {@code gc} reply. */
    record Stats(long heapUsed, long heapCommitted, long heapMax, long cpuNanos, long instances, long routable,
                 long proxies, long synced) {}

    private ControlPlaneProcess(Process process, Path log, Path dataDir, List<String> jvmOptions, Duration startTimeout)
            throws IOException, InterruptedException {
        this.process = process;
        this.log = log;
        this.dataDir = dataDir;
        this.jvmOptions = jvmOptions;
        this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.hook = new Thread(process::destroyForcibly, "cp-scale-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        Writer logWriter = Files.newBufferedWriter(log, StandardCharsets.UTF_8);
        pump = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                 Writer w = logWriter) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith(ControlPlaneHost.REPLY)) {
                        replies.add(line.substring(ControlPlaneHost.REPLY.length()));
                    } else {
                        w.write(line);
                        w.write('\n');
                    }
                }
            } catch (IOException e) {
                // the process ended; the reply wait reports it
            }
        }, "cp-scale-log");
        pump.setDaemon(true);
        pump.start();
        String ready = reply(startTimeout);
        Map<String, String> kv = fields(ready, "ready");
        grpcPort = Integer.parseInt(kv.get("grpc"));
        adminPort = Integer.parseInt(kv.get("admin"));
    }

    /** Starts the control plane with {@code jvmOptions}; its data (CA bundle, admin token, policy) under {@code dataDir}. */
    static ControlPlaneProcess start(Path java, List<String> jvmOptions, Path dataDir, Path log, Duration startTimeout)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ControlPlaneHost.class.getName());
        cmd.add(dataDir.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            return new ControlPlaneProcess(p, log, dataDir, jvmOptions, startTimeout);
        } catch (IOException | InterruptedException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
    }

    long pid() {
        return process.pid();
    }

    /** Counts and heap now. */
    Stats stats() throws IOException, InterruptedException {
        return parse(ask("stats", Duration.ofSeconds(60)));
    }

    /** Counts and the heap that stays live after full collections. */
    Stats statsAfterGc() throws IOException, InterruptedException {
        return parse(ask("gc", Duration.ofSeconds(120)));
    }

    OptionalLong peakRssBytes() {
        return ProcStats.peakRssBytes(process.pid());
    }

    OptionalLong rssBytes() {
        return ProcStats.rssBytes(process.pid());
    }

    String adminToken() throws IOException {
        return Files.readString(dataDir.resolve("admin.token"), StandardCharsets.UTF_8).strip();
    }

    Path caBundle() {
        return dataDir.resolve("ca-bundle.pem");
    }

    private synchronized String ask(String command, Duration timeout) throws IOException, InterruptedException {
        commands.write(command + "\n");
        commands.flush();
        return reply(timeout);
    }

    private String reply(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String r = replies.poll(200, TimeUnit.MILLISECONDS);
            if (r != null) {
                if (r.startsWith("error ")) throw new IOException("control plane: " + r.substring(6));
                return r;
            }
            if (!process.isAlive()) {
                pump.join(2000);
                throw new IOException("control plane exited with " + process.exitValue() + "; log " + log + ":\n" + tail());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("control plane: no reply within " + timeout.toSeconds() + " s; log " + log);
            }
        }
    }

    private String tail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private static Stats parse(String line) {
        Map<String, String> kv = fields(line, "stats");
        return new Stats(Long.parseLong(kv.get("heap_used")), Long.parseLong(kv.get("heap_committed")),
                Long.parseLong(kv.get("heap_max")), Long.parseLong(kv.get("cpu_ns")), Long.parseLong(kv.get("instances")),
                Long.parseLong(kv.get("routable")), Long.parseLong(kv.get("proxies")), Long.parseLong(kv.get("synced")));
    }

    static Map<String, String> fields(String line, String expectedFirst) {
        String[] parts = line.trim().split("\\s+");
        if (parts.length == 0 || !parts[0].equals(expectedFirst)) {
            throw new IllegalStateException("control plane reply: '" + line + "' (expected: " + expectedFirst + " ...)");
        }
        Map<String, String> kv = new HashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq > 0) kv.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        return kv;
    }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                ask("quit", Duration.ofSeconds(10));
            }
        } catch (IOException | RuntimeException e) {
            // stopped below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            // generous: a JVM started with a flight recording writes it on the way out
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            pump.join(5000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down already
        }
    }
}
