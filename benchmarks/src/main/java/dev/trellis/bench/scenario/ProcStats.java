package dev.trellis.bench.scenario;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/** CPU time and memory of processes from Linux's {@code /proc}. */
public final class ProcStats {
    private static final Path PROC = Path.of("/proc");
    private static volatile long clockTicks;

    private ProcStats() {}

    /** Whether {@code /proc} is there to read. */
    public static boolean available() {
        return Files.isReadable(PROC.resolve("self/stat"));
    }

    /** {@code utime + stime} of one process in clock ticks, or empty when it is gone. */
    public static OptionalLong cpuTicks(long pid) {
        try {
            return OptionalLong.of(parseCpuTicks(Files.readString(PROC.resolve(pid + "/stat"), StandardCharsets.US_ASCII)));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * {@code utime + stime} from a {@code /proc/PID/stat} line. The command name (field 2) may hold
     * spaces and parentheses, so fields are counted from the last {@code ')'}.
     */
    static long parseCpuTicks(String stat) {
        String rest = stat.substring(stat.lastIndexOf(')') + 2);
        String[] f = rest.trim().split("\\s+");
        // rest starts at field 3 (state); utime is field 14, stime field 15
        return Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]);
    }

    /**
     * {@code utime + stime} of a process's JIT compiler threads in clock ticks: HotSpot names them
     * {@code C1 CompilerThreadN} and {@code C2 CompilerThreadN} (cut to 15 characters in
     * {@code comm}). Zero for a process without them (HAProxy, nginx) or when it is gone.
     */
    public static long compilerTicks(long pid) {
        long ticks = 0;
        try (var tasks = Files.list(PROC.resolve(pid + "/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String comm = Files.readString(task.resolve("comm"), StandardCharsets.UTF_8);
                    if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
                        ticks += parseCpuTicks(Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII));
                    }
                } catch (IOException | RuntimeException e) {
                    // the thread ended between listing and reading
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return ticks;
    }

    /** Peak resident set size ({@code VmHWM}) in bytes. */
    public static OptionalLong peakRssBytes(long pid) {
        return statusKb(pid, "VmHWM:");
    }

    /** Current resident set size ({@code VmRSS}) in bytes. */
    public static OptionalLong rssBytes(long pid) {
        return statusKb(pid, "VmRSS:");
    }

    private static OptionalLong statusKb(long pid, String key) {
        try {
            return parseStatusKb(Files.readString(PROC.resolve(pid + "/status"), StandardCharsets.UTF_8), key);
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    static OptionalLong parseStatusKb(String status, String key) {
        for (String line : status.split("\n")) {
            if (line.startsWith(key)) {
                String[] parts = line.substring(key.length()).trim().split("\\s+");
                return OptionalLong.of(Long.parseLong(parts[0]) * 1024);
            }
        }
        return OptionalLong.empty();
    }

    /** A process and its live descendants (nginx's workers, for one). */
    public static List<Long> tree(ProcessHandle root) {
        List<Long> pids = new ArrayList<>();
        pids.add(root.pid());
        root.descendants().forEach(h -> pids.add(h.pid()));
        return pids;
    }

    /** Clock ticks per second ({@code getconf CLK_TCK}; 100 on every Linux we know of). */
    public static long clockTicksPerSecond() {
        long t = clockTicks;
        if (t == 0) {
            t = 100;
            try {
                Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
                if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    t = Long.parseLong(out);
                }
            } catch (IOException | RuntimeException e) {
                // keep 100
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            clockTicks = t;
        }
        return t;
    }
}
