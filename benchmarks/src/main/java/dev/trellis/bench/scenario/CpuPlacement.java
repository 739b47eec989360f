package dev.trellis.bench.scenario;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Which CPUs the load generator (with the echo backend, in the benchmark's JVM) and the proxies
 * run on. With two or more CPUs the allowed set is split in two halves pinned with {@code taskset},
 * so the proxies never compete with the generator; with one CPU, or without {@code taskset},
 * nothing is pinned and the report says so.
 *
 * @param generatorCpus CPUs of the benchmark JVM, empty when not pinned
 * @param proxyCpus     CPUs of the proxies, empty when not pinned
 * @param note          one sentence for the report
 */
public record CpuPlacement(List<Integer> generatorCpus, List<Integer> proxyCpus, Path taskset, String note) {

    public boolean pinned() {
        return !proxyCpus.isEmpty();
    }

    /** Threads to give the generator's or the backend's event loops. */
    public int generatorThreads() {
        return pinned() ? generatorCpus.size() : Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    /** Threads or workers to give each proxy. */
    public int proxyThreads() {
        return pinned() ? proxyCpus.size() : Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    /** {@code taskset -c LIST} to put in front of a proxy's command, or nothing. */
    public List<String> proxyPrefix() {
        return pinned() ? List.of(taskset.toString(), "-c", list(proxyCpus)) : List.of();
    }

    /** Decides the placement from the CPUs this process may use. */
    public static CpuPlacement decide(boolean wanted, List<Integer> allowed, Optional<Path> taskset) {
        if (!wanted) {
            return new CpuPlacement(List.of(), List.of(), null, "Not pinned (--no-pin): the OS placed every process.");
        }
        if (allowed.size() < 2) {
            return new CpuPlacement(List.of(), List.of(), null,
                    "Not pinned: only " + allowed.size() + " CPU available, so the proxies share it with the load generator.");
        }
        if (taskset.isEmpty()) {
            return new CpuPlacement(List.of(), List.of(), null,
                    "Not pinned: taskset not found (Debian package util-linux).");
        }
        int half = allowed.size() / 2;
        List<Integer> gen = List.copyOf(allowed.subList(0, half));
        List<Integer> proxy = List.copyOf(allowed.subList(half, allowed.size()));
        return new CpuPlacement(gen, proxy, taskset.get(),
                "Pinned with taskset: load generator and echo backend (one JVM) on CPU " + list(gen)
                        + ", every proxy process on CPU " + list(proxy) + ".");
    }

    /** Pins every thread of this JVM to the generator CPUs; returns an error message or null. */
    public String pinThisProcess() {
        if (!pinned()) {
            return null;
        }
        try {
            Process p = new ProcessBuilder(taskset.toString(), "-a", "-p", "-c", list(generatorCpus),
                    String.valueOf(ProcessHandle.current().pid())).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "taskset failed: " + out.trim();
            }
            return null;
        } catch (IOException e) {
            return "taskset failed: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** The CPUs this process may run on ({@code Cpus_allowed_list} of {@code /proc/self/status}). */
    public static List<Integer> allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return parseList(line.substring("Cpus_allowed_list:".length()).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
            all.add(i);
        }
        return all;
    }

    /** Parses a CPU list such as {@code 0-3,6,8-9}. */
    static List<Integer> parseList(String text) {
        List<Integer> cpus = new ArrayList<>();
        for (String part : text.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int dash = p.indexOf('-');
            if (dash < 0) {
                cpus.add(Integer.parseInt(p));
            } else {
                int from = Integer.parseInt(p.substring(0, dash));
                int to = Integer.parseInt(p.substring(dash + 1));
                for (int i = from; i <= to; i++) {
                    cpus.add(i);
                }
            }
        }
        return cpus;
    }

    static String list(List<Integer> cpus) {
        return cpus.stream().map(String::valueOf).collect(Collectors.joining(","));
    }
}
