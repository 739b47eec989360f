package dev.trellis.bench.scenario;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.OptionalLong;

/**
 * A started scenario: where the load generator connects and which proxy processes carry the
 * traffic (none for {@code direct}). CPU and memory figures are summed over each proxy's process
 * tree, so nginx's workers count with their master.
 */
public record Deployment(InetSocketAddress target, List<Proxy> proxies) {

    /** One proxy instance: a name for the report and its root process. */
    public record Proxy(String name, Process process) {
        /** utime + stime of the proxy and its descendants, in clock ticks. */
        public long cpuTicks() {
            return ProcStats.tree(process.toHandle()).stream()
                    .mapToLong(pid -> ProcStats.cpuTicks(pid).orElse(0)).sum();
        }

        /** Sum of VmHWM over the process tree (an upper bound of the tree's peak). */
        public OptionalLong peakRssBytes() {
            return sum(true);
        }

        /** Sum of VmRSS over the process tree now. */
        public OptionalLong rssBytes() {
            return sum(false);
        }

        private OptionalLong sum(boolean peak) {
            long total = 0;
            boolean any = false;
            for (long pid : ProcStats.tree(process.toHandle())) {
                OptionalLong v = peak ? ProcStats.peakRssBytes(pid) : ProcStats.rssBytes(pid);
                if (v.isPresent()) {
                    total += v.getAsLong();
                    any = true;
                }
            }
            return any ? OptionalLong.of(total) : OptionalLong.empty();
        }
    }

    /** CPU seconds used so far by every proxy of this deployment. */
    public double proxyCpuSeconds() {
        long ticks = proxies.stream().mapToLong(Proxy::cpuTicks).sum();
        return ticks / (double) ProcStats.clockTicksPerSecond();
    }

    /** CPU seconds used so far by the JIT compiler threads of every proxy (0 for proxies that are not JVMs). */
    public double proxyCompilerCpuSeconds() {
        long ticks = proxies.stream()
                .flatMap(p -> ProcStats.tree(p.process().toHandle()).stream())
                .mapToLong(ProcStats::compilerTicks).sum();
        return ticks / (double) ProcStats.clockTicksPerSecond();
    }

    /**
     * The first proxy that has exited, as {@code NAME exited with CODE}, or null while all run (they
     * must, for the figures to mean anything).
     */
    public String deadProxy() {
        for (Proxy p : proxies) {
            if (!p.process().isAlive()) {
                return p.name() + " exited with " + p.process().exitValue();
            }
        }
        return null;
    }
}
