package dev.trellis.bench.report;

import dev.trellis.bench.load.LoadResult;
import dev.trellis.bench.load.LoopLag;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything measured for one scenario in a run, or why it was not.
 *
 * @param rates         one result per fixed rate, in the order run; with several rounds, all rounds'
 *                      requests of that rate together ({@link #merge})
 * @param max           the closed-loop run, if there was one (all rounds together)
 * @param peakRssBytes  the largest VmHWM of any one proxy (its process tree), if it has proxies
 * @param proxies       names of the proxy processes, empty for {@code direct}
 * @param rounds        each round's own phases, in the order run (one round unless {@code --rounds})
 */
public record ScenarioResult(String name, String path, Status status, String reason, List<RateResult> rates,
                             MaxResult max, Long peakRssBytes, List<String> proxies, List<Round> rounds) {

    public enum Status { MEASURED, SKIPPED, FAILED }

    public ScenarioResult {
        rates = List.copyOf(rates);
        proxies = List.copyOf(proxies);
        rounds = List.copyOf(rounds);
    }

    /** A scenario measured in one round. */
    public ScenarioResult(String name, String path, Status status, String reason, List<RateResult> rates,
                          MaxResult max, Long peakRssBytes, List<String> proxies) {
        this(name, path, status, reason, rates, max, peakRssBytes, proxies,
                rates.isEmpty() && max == null ? List.of() : List.of(new Round(rates, max)));
    }

    /** A scenario measured in {@code rounds}: its rates and max are the rounds' phases merged. */
    public static ScenarioResult of(String name, String path, Status status, String reason, List<Round> rounds,
                                    Long peakRssBytes, List<String> proxies) {
        List<RateResult> rates = new ArrayList<>();
        List<Integer> order = new ArrayList<>();
        for (Round r : rounds) {
            for (RateResult rr : r.rates()) {
                if (!order.contains(rr.rate())) {
                    order.add(rr.rate());
                }
            }
        }
        for (int rate : order) {
            rates.add(RateResult.merge(rounds.stream().flatMap(r -> r.at(rate).stream()).toList()));
        }
        List<MaxResult> maxes = rounds.stream().map(Round::max).filter(Objects::nonNull).toList();
        return new ScenarioResult(name, path, status, reason, rates, maxes.isEmpty() ? null : MaxResult.merge(maxes),
                peakRssBytes, proxies, rounds);
    }

    /**
     * One pass over a scenario's phases. With {@code --rounds N} every phase runs N times, each round
     * of all scenarios before the next, so that each round compares rows measured minutes apart.
     */
    public record Round(List<RateResult> rates, MaxResult max) {
        public Round {
            rates = List.copyOf(rates);
        }

        public Optional<RateResult> at(int rate) {
            return rates.stream().filter(r -> r.rate() == rate).findFirst();
        }
    }

    /**
     * One fixed-rate phase. {@code proxyCpuSeconds} and {@code proxyRssBytes} are null without proxies;
     * {@code benchLag} is the largest lag of the benchmark JVM's own event loops in the measured window
     * (null when not watched); {@code jitCpuSeconds} is the part of the proxy CPU their JIT compiler
     * threads used (null when not known).
     */
    public record RateResult(int rate, LoadResult load, Double proxyCpuSeconds, Long proxyRssBytes, LoopLag.Max benchLag,
                             Double jitCpuSeconds) {
        public RateResult(int rate, LoadResult load, Double proxyCpuSeconds, Long proxyRssBytes, LoopLag.Max benchLag) {
            this(rate, load, proxyCpuSeconds, proxyRssBytes, benchLag, null);
        }

        public RateResult(int rate, LoadResult load, Double proxyCpuSeconds, Long proxyRssBytes) {
            this(rate, load, proxyCpuSeconds, proxyRssBytes, null);
        }

        /** Proxy CPU seconds per 1000 measured requests, or null. */
        public Double cpuPer1000() {
            return proxyCpuSeconds == null || load.requests() == 0 ? null : proxyCpuSeconds * 1000.0 / load.requests();
        }

        /** Several rounds of one rate as one: requests and CPU added up, the largest RSS and bench lag. */
        static RateResult merge(List<RateResult> rounds) {
            if (rounds.size() == 1) {
                return rounds.get(0);
            }
            return new RateResult(rounds.get(0).rate(), LoadResult.merge(rounds.stream().map(RateResult::load).toList()),
                    sumOrNull(rounds.stream().map(RateResult::proxyCpuSeconds).toList()),
                    rounds.stream().map(RateResult::proxyRssBytes).filter(Objects::nonNull).max(Comparator.naturalOrder()).orElse(null),
                    rounds.stream().map(RateResult::benchLag).filter(Objects::nonNull)
                            .max(Comparator.comparingLong(LoopLag.Max::nanos)).orElse(null),
                    sumOrNull(rounds.stream().map(RateResult::jitCpuSeconds).toList()));
        }
    }

    private static Double sumOrNull(List<Double> values) {
        if (values.contains(null)) {
            return null;
        }
        return values.stream().mapToDouble(Double::doubleValue).sum();
    }

    /** The closed-loop phase: {@code depth} requests in flight per connection. */
    public record MaxResult(LoadResult load, int depth, Double proxyCpuSeconds, Double jitCpuSeconds) {
        public MaxResult(LoadResult load, int depth, Double proxyCpuSeconds) {
            this(load, depth, proxyCpuSeconds, null);
        }

        public Double cpuPer1000() {
            return proxyCpuSeconds == null || load.requests() == 0 ? null : proxyCpuSeconds * 1000.0 / load.requests();
        }

        static MaxResult merge(List<MaxResult> rounds) {
            if (rounds.size() == 1) {
                return rounds.get(0);
            }
            return new MaxResult(LoadResult.merge(rounds.stream().map(MaxResult::load).toList()), rounds.get(0).depth(),
                    sumOrNull(rounds.stream().map(MaxResult::proxyCpuSeconds).toList()),
                    sumOrNull(rounds.stream().map(MaxResult::jitCpuSeconds).toList()));
        }
    }

    public static ScenarioResult skipped(String name, String path, String reason) {
        return new ScenarioResult(name, path, Status.SKIPPED, reason, List.of(), null, null, List.of());
    }

    public static ScenarioResult failed(String name, String path, String reason, List<RateResult> rates, MaxResult max) {
        return new ScenarioResult(name, path, Status.FAILED, reason, rates, max, null, List.of());
    }

    /** Failed after {@code rounds} (the last possibly incomplete) were measured. */
    public static ScenarioResult failed(String name, String path, String reason, List<Round> rounds) {
        return of(name, path, Status.FAILED, reason, rounds, null, List.of());
    }

    public Optional<RateResult> at(int rate) {
        return rates.stream().filter(r -> r.rate() == rate).findFirst();
    }

    public boolean hasProxies() {
        return !proxies.isEmpty();
    }
}
