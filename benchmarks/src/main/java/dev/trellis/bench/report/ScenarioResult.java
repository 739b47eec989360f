package dev.trellis.bench.report;

import dev.trellis.bench.load.LoadResult;
import dev.trellis.bench.load.LoopLag;
import java.util.List;
import java.util.Optional;

/**
 * Everything measured for one scenario in a run, or why it was not.
 *
 * @param rates         one result per fixed rate, in the order run
 * @param max           the closed-loop run, if there was one
 * @param peakRssBytes  the largest VmHWM of any one proxy (its process tree), if it has proxies
 * @param proxies       names of the proxy processes, empty for {@code direct}
 */
public record ScenarioResult(String name, String path, Status status, String reason, List<RateResult> rates,
                             MaxResult max, Long peakRssBytes, List<String> proxies) {

    public enum Status { MEASURED, SKIPPED, FAILED }

    /**
     * One fixed-rate phase. {@code proxyCpuSeconds} and {@code proxyRssBytes} are null without proxies;
     * {@code benchLag} is the largest lag of the benchmark JVM's own event loops in the measured window
     * (null when not watched).
     */
    public record RateResult(int rate, LoadResult load, Double proxyCpuSeconds, Long proxyRssBytes, LoopLag.Max benchLag) {
        public RateResult(int rate, LoadResult load, Double proxyCpuSeconds, Long proxyRssBytes) {
            this(rate, load, proxyCpuSeconds, proxyRssBytes, null);
        }

        /** Proxy CPU seconds per 1000 measured requests, or null. */
        public Double cpuPer1000() {
            return proxyCpuSeconds == null || load.requests() == 0 ? null : proxyCpuSeconds * 1000.0 / load.requests();
        }
    }

    /** The closed-loop phase: {@code depth} requests in flight per connection. */
    public record MaxResult(LoadResult load, int depth, Double proxyCpuSeconds) {
        public Double cpuPer1000() {
            return proxyCpuSeconds == null || load.requests() == 0 ? null : proxyCpuSeconds * 1000.0 / load.requests();
        }
    }

    public static ScenarioResult skipped(String name, String path, String reason) {
        return new ScenarioResult(name, path, Status.SKIPPED, reason, List.of(), null, null, List.of());
    }

    public static ScenarioResult failed(String name, String path, String reason, List<RateResult> rates, MaxResult max) {
        return new ScenarioResult(name, path, Status.FAILED, reason, rates, max, null, List.of());
    }

    public Optional<RateResult> at(int rate) {
        return rates.stream().filter(r -> r.rate() == rate).findFirst();
    }

    public boolean hasProxies() {
        return !proxies.isEmpty();
    }
}
