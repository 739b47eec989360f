package dev.trellis.bench.cp;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The figures of one cp-scale run; times in nanoseconds, memory in bytes. */
public record CpScaleResult(CpScaleSettings settings, Instant started, Instant finished, Map<String, String> machine,
                           List<String> cpJvmOptions, long heapMax, long heapAtStart, long heapAfterSync, long heapAtEnd,
                           long heapCommittedAtEnd, long peakRss, long registrationNanos, long registrationCpuNanos,
                           long fullSyncNanos, List<Long> syncPerProxy, long syncCpuNanos, long cpProxies,
                           long cpSynced, long syncResponses, List<Change> changes, long cpuTotalNanos,
                           int proxyFailures) {

    /**
     * One policy change. {@code toAck} has, per caller, the time from the admin API call to its ACK
     * of the response that carried the change.
     *
     * @param pushedOthers proxies that got any response although they do not call the service
     * @param applyNanos   the admin API call alone (validate, store, answer)
     */
    public record Change(int round, String label, String service, long timeoutSeconds, int callers, int pushed, int pushedOthers,
                         long responses, long applyNanos, List<Long> toAck, long cpuNanos) {
        public Change {
            toAck = toAck.stream().sorted().toList();
        }

        /** Nearest-rank percentile of {@link #toAck}, q in (0, 1]; 0 when empty. */
        public long p(double q) {
            return percentile(toAck, q);
        }
    }

    /** Nearest-rank percentile of an ascending list; 0 when empty. */
    static long percentile(List<Long> sorted, double q) {
        if (sorted.isEmpty()) return 0;
        int rank = (int) Math.ceil(q * sorted.size());
        return sorted.get(Math.min(sorted.size(), Math.max(1, rank)) - 1);
    }

    public long syncP(double q) {
        return percentile(syncPerProxy, q);
    }

    /** Collects figures as the run goes. */
    static final class Builder {
        private final CpScaleSettings settings;
        private final Instant started;
        private final Map<String, String> machine;
        private List<String> cpJvm = List.of();
        private long heapMax;
        private long heapAtStart;
        private long heapAfterSync;
        private long heapAtEnd;
        private long heapCommittedAtEnd;
        private long peakRss;
        private long registrationNanos;
        private long registrationCpu;
        private long fullSync;
        private List<Long> perProxy = List.of();
        private long syncCpu;
        private long cpProxies;
        private long cpSynced;
        private long syncResponses;
        private final List<Change> changes = new ArrayList<>();
        private long cpuTotal;

        Builder(CpScaleSettings settings, Instant started, Map<String, String> machine) {
            this.settings = settings;
            this.started = started;
            this.machine = machine;
        }

        void cpJvm(List<String> options) { cpJvm = List.copyOf(options); }
        void heapMax(long b) { heapMax = b; }
        void heapAtStart(long b) { heapAtStart = b; }
        void heapAfterSync(long b) { heapAfterSync = b; }
        void heapAtEnd(long used, long committed) {
            heapAtEnd = used;
            heapCommittedAtEnd = committed;
        }
        void peakRss(long b) { peakRss = b; }
        void cpuTotal(long ns) { cpuTotal = ns; }

        void registration(long nanos, long cpuNanos) {
            registrationNanos = nanos;
            registrationCpu = cpuNanos;
        }

        void sync(long nanos, List<Long> perProxyNanos, long cpuNanos, long proxies, long synced, long responses) {
            fullSync = nanos;
            perProxy = perProxyNanos.stream().sorted().toList();
            syncCpu = cpuNanos;
            cpProxies = proxies;
            cpSynced = synced;
            syncResponses = responses;
        }

        void change(Change c) { changes.add(c); }

        CpScaleResult finished(Instant finished, int failures) {
            return new CpScaleResult(settings, started, finished, machine, cpJvm, heapMax, heapAtStart, heapAfterSync,
                    heapAtEnd, heapCommittedAtEnd, peakRss, registrationNanos, registrationCpu, fullSync, perProxy, syncCpu,
                    cpProxies, cpSynced, syncResponses, List.copyOf(changes), cpuTotal, failures);
        }
    }
}
