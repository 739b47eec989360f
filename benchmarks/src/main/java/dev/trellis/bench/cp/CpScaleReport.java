package dev.trellis.bench.cp;

import java.util.Locale;

/** The Markdown report of a cp-scale run. */
public final class CpScaleReport {
    private CpScaleReport() {}

    public static String markdown(CpScaleResult r) {
        StringBuilder md = new StringBuilder();
        md.append("# Trellis control-plane scale benchmark, ").append(r.started()).append("\n\n");
        md.append("Reproduce with:\n\n```sh\n").append(r.settings().command()).append("\n```\n\n");
        md.append(table(r)).append('\n');
        md.append("## Method\n\n");
        CpScaleSettings s = r.settings();
        md.append("- **Control plane**: a real one (`ControlPlane.builder()`: TLS gRPC port with xDS ADS and the")
                .append(" Registration API, admin API, policy store on disk, default 50 ms debounce) in a child JVM")
                .append(" of its own, so its heap holds only the control plane. JVM options: ")
                .append(r.cpJvmOptions().isEmpty() ? "(none)" : "`" + String.join(" ", r.cpJvmOptions()) + "`")
                .append(", max heap ").append(mib(r.heapMax())).append(" MiB. Heap is `MemoryMXBean` heap used")
                .append(" after two `System.gc()` inside that JVM; CPU is its process CPU time (all threads, GC included).\n");
        md.append("- **Simulated proxies**: ").append(s.proxies()).append(" in the benchmark JVM, each on its own TLS")
                .append(" gRPC connection: a `trellis.v1.Registration` call (instance registered, then reported HEALTHY),")
                .append(" then an ADS stream (state of the world) used as Envoy does: CDS and LDS wildcard, EDS for the")
                .append(" clusters CDS names, RDS for the route configurations LDS names; every response ACKed at once")
                .append(" (the EDS/RDS subscription follows the CDS/LDS ACK). A proxy counts as synced once it has ACKed")
                .append(" all four types and holds, for each upstream, the cluster with all its instances and the virtual host.\n");
        md.append("- **Mesh**: ").append(s.services()).append(" services; proxy *i* is an instance of service *i* mod ")
                .append(s.services()).append(", so each service has ").append(s.proxies() / s.services())
                .append(s.proxies() % s.services() == 0 ? "" : " or " + (s.proxies() / s.services() + 1))
                .append(" instance(s). Each proxy declares ").append(s.upstreams())
                .append(" upstreams: the hot service (`svc-0000`, called by every proxy) and ").append(s.upstreams() - 1)
                .append(" drawn at random (seed ").append(s.seed()).append(").\n");
        md.append("- **Registration**: ").append(s.registerInFlight()).append(" registrations in flight at most; timed")
                .append(" until the registry holds every instance as routable.\n");
        md.append("- **First full sync**: every ADS stream opened at once after registration; timed from the first")
                .append(" stream opened to the last proxy synced. Per-proxy figures run from its own stream's start.\n");
        md.append("- **Policy change**: `PUT /api/v1/policy/Service/<name>` with a new `timeout`; timed from just")
                .append(" before the request to each calling proxy's ACK of the RDS response whose virtual host for the")
                .append(" service carries the new timeout. Then the run waits until no proxy received anything for ")
                .append(s.quiet().toMillis()).append(" ms and counts the proxies that got any response since the change:")
                .append(" a proxy that does not call the service should get none. Each change is made ")
                .append(s.rounds()).append(" time(s), the hot one first; the first round also runs code paths of the")
                .append(" control plane for the first time (JIT).\n");
        md.append("- The proxies and the control plane share the machine's CPUs (nothing pinned).\n\n");
        md.append("## Machine\n\n| | |\n| --- | --- |\n");
        r.machine().forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v.replace("|", "\\|")).append(" |\n"));
        return md.toString();
    }

    /** The results table (also printed on the console and pasted into the README). */
    public static String table(CpScaleResult r) {
        CpScaleSettings s = r.settings();
        StringBuilder md = new StringBuilder();
        md.append("## Control plane at ").append(s.services()).append(" services and ").append(s.proxies())
                .append(" proxies (").append(s.upstreams()).append(" upstreams each)\n\n");
        md.append("| figure | value |\n| --- | ---: |\n");
        row(md, "registration of " + s.proxies() + " instances (s)", sec(r.registrationNanos()));
        row(md, "first full sync of all proxies (s)", sec(r.fullSyncNanos()));
        row(md, "per-proxy sync p50 / p99 / max (ms)", ms(r.syncP(0.5)) + " / " + ms(r.syncP(0.99)) + " / " + ms(r.syncP(1.0)));
        row(md, "responses to reach the first sync (per proxy)", String.format(Locale.ROOT, "%.1f",
                r.syncResponses() / (double) Math.max(1, s.proxies())));
        row(md, "proxies connected / SYNCED in `/api/v1/proxies` after sync", r.cpProxies() + " / " + r.cpSynced());
        row(md, "control-plane heap after GC: empty / synced / end (MiB)",
                mib(r.heapAtStart()) + " / " + mib(r.heapAfterSync()) + " / " + mib(r.heapAtEnd()));
        row(md, "control-plane heap per proxy (KiB, synced minus empty)", String.format(Locale.ROOT, "%.1f",
                (r.heapAfterSync() - r.heapAtStart()) / 1024.0 / Math.max(1, s.proxies())));
        row(md, "control-plane peak RSS (MiB)", r.peakRss() > 0 ? mib(r.peakRss()) : "n/a");
        row(md, "control-plane CPU: registration / first sync (s)", sec(r.registrationCpuNanos()) + " / " + sec(r.syncCpuNanos()));
        row(md, "control-plane CPU, whole run (s)", sec(r.cpuTotalNanos()));
        md.append('\n');
        md.append("Policy change (a Service `timeout` through the admin API) to each calling proxy's ACK, in milliseconds:\n\n");
        md.append("| round | change | service | callers | p50 | p99 | max | API call | proxies pushed | pushed, not calling | responses | CP CPU (s) |\n");
        md.append("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (CpScaleResult.Change c : r.changes()) {
            md.append("| ").append(c.round()).append(" | ").append(c.label()).append(" | ").append(c.service()).append(" | ").append(c.callers())
                    .append(" | ").append(ms(c.p(0.5))).append(" | ").append(ms(c.p(0.99))).append(" | ").append(ms(c.p(1.0)))
                    .append(" | ").append(ms(c.applyNanos())).append(" | ").append(c.pushed()).append(" | ")
                    .append(c.pushedOthers()).append(" | ").append(c.responses()).append(" | ").append(sec(c.cpuNanos()))
                    .append(" |\n");
        }
        if (r.proxyFailures() > 0) {
            md.append("\n").append(r.proxyFailures()).append(" simulated proxy stream(s) failed during the run.\n");
        }
        return md.toString();
    }

    private static void row(StringBuilder md, String k, String v) {
        md.append("| ").append(k).append(" | ").append(v).append(" |\n");
    }

    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e6);
    }

    static String sec(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1e9);
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
    }
}
