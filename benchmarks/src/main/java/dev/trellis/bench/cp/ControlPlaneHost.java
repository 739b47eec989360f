package dev.trellis.bench.cp;

import dev.trellis.controlplane.ControlPlane;
import dev.trellis.controlplane.xds.ProxyStatus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The main class of the child JVM that {@code cp-scale} measures: a real control plane started with
 * {@link ControlPlane#builder()} (TLS on the gRPC port, admin API, policy store under the data
 * directory), plus a line protocol on stdin/stdout so the harness can read the heap and CPU from
 * inside this JVM. The control plane runs in a JVM of its own so that the heap figure holds only
 * the control plane, not the simulated proxies.
 *
 * <p>Replies are single lines starting with {@value #REPLY}; everything else on stdout is log.
 */
public final class ControlPlaneHost {
    /** Prefix of the lines the harness reads. */
    public static final String REPLY = "@cpscale ";

    private ControlPlaneHost() {}

    /** {@code ControlPlaneHost DATA_DIR}. */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: ControlPlaneHost DATA_DIR");
            System.exit(2);
        }
        PrintStream out = System.out;
        try (ControlPlane cp = ControlPlane.builder().port(0).adminPort(0).dataDir(Path.of(args[0])).start()) {
            reply(out, "ready grpc=" + cp.grpcPort() + " admin=" + cp.adminPort());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                switch (line.trim()) {
                    case "stats" -> reply(out, stats(cp, false));
                    case "gc" -> reply(out, stats(cp, true));
                    case "quit" -> {
                        reply(out, "bye");
                        return;
                    }
                    default -> reply(out, "error unknown command '" + line.trim() + "' (expected: stats, gc or quit)");
                }
            }
        }
    }

    /**
     * {@code stats heap_used=B heap_committed=B cpu_ns=N instances=N routable=N proxies=N synced=N};
     * with {@code gc} a full collection runs first, so {@code heap_used} is what stays live.
     */
    static String stats(ControlPlane cp, boolean gc) {
        if (gc) {
            // twice: the first may leave garbage that finalization or reference processing freed late
            System.gc();
            System.gc();
        }
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        long cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
        long instances = cp.registry().instances().size();
        long routable = cp.registry().instances().stream().filter(i -> i.routable()).count();
        var proxies = cp.proxies().proxies();
        long synced = proxies.stream().filter(p -> p.state() == ProxyStatus.State.SYNCED).count();
        return String.format(Locale.ROOT, "stats heap_used=%d heap_committed=%d heap_max=%d cpu_ns=%d instances=%d routable=%d proxies=%d synced=%d",
                heap.getUsed(), heap.getCommitted(), heap.getMax(), cpu, instances, routable, proxies.size(), synced);
    }

    private static void reply(PrintStream out, String s) {
        synchronized (out) {
            out.println(REPLY + s);
            out.flush();
        }
    }
}
