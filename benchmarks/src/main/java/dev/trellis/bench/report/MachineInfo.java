package dev.trellis.bench.report;

import dev.trellis.bench.load.Transports;
import dev.trellis.bench.scenario.Binaries;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** What the report says about the machine, the JVM and the peers' versions. */
public final class MachineInfo {
    /** The label of the benchmark JVM's own transport (sidecars log theirs). */
    public static final String NETTY_TRANSPORT = "Netty transport of the load generator and echo backend";

    private MachineInfo() {}

    /** Label -> value, in display order. */
    public static Map<String, String> collect(Binaries binaries, List<Integer> allowedCpus) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("CPU", cpuModel().orElse("unknown"));
        m.put("cores", Runtime.getRuntime().availableProcessors() + " available to the JVM (CPUs " + cpuList(allowedCpus) + ")");
        m.put("memory", memTotal().orElse("unknown"));
        m.put("OS", osName().orElse(System.getProperty("os.name")) + ", kernel " + read("/proc/sys/kernel/osrelease").orElse(System.getProperty("os.version")));
        m.put("load average at start", read("/proc/loadavg").map(l -> String.join(" ", List.of(l.split("\\s+")).subList(0, 3))).orElse("unknown"));
        m.put("JVM", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + " (" + System.getProperty("java.vendor") + ")");
        List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
        m.put("benchmark JVM flags", args.isEmpty() ? "(none)" : String.join(" ", args));
        m.put("benchmark JVM heap", "max " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB, GC "
                + String.join(", ", ManagementFactory.getGarbageCollectorMXBeans().stream().map(b -> b.getName()).toList()));
        m.put(NETTY_TRANSPORT, Transports.name());
        m.put("HAProxy", version(binaries, "haproxy", "-v").orElse("not installed"));
        m.put("nginx", version(binaries, "nginx", "-v").orElse("not installed"));
        return m;
    }

    private static String cpuList(List<Integer> cpus) {
        return String.join(",", cpus.stream().map(String::valueOf).toList());
    }

    static Optional<String> cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    return Optional.of(line.substring(line.indexOf(':') + 1).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return Optional.empty();
    }

    private static Optional<String> memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return Optional.of(String.format(java.util.Locale.ROOT, "%.1f GiB", kb / 1024.0 / 1024.0));
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return Optional.empty();
    }

    private static Optional<String> osName() {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/os-release"), StandardCharsets.UTF_8)) {
                if (line.startsWith("PRETTY_NAME=")) {
                    return Optional.of(line.substring("PRETTY_NAME=".length()).replace("\"", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return Optional.empty();
    }

    private static Optional<String> read(String path) {
        try {
            return Optional.of(Files.readString(Path.of(path)).trim());
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The first line a program prints for its version flag. */
    private static Optional<String> version(Binaries binaries, String program, String flag) {
        Optional<Path> bin = binaries.find(program);
        if (bin.isEmpty()) {
            return Optional.empty();
        }
        try {
            Process p = new ProcessBuilder(bin.get().toString(), flag).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out.lines().findFirst().map(String::trim);
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
