package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.OutlierDetectionConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Envoy's outlier detection for one cluster. Consecutive 5xx, gateway failures and (with
 * {@code split_external_local_origin_errors}) local-origin failures eject a host at once; success
 * rate and failure percentage are judged every {@code interval}, which also returns hosts whose
 * ejection ({@code base_ejection_time} x times ejected, capped by {@code max_ejection_time}) is
 * over. At most {@code max_ejection_percent} of hosts are ejected, but always at least one may be.
 * Time and the enforcement dice are injected.
 */
public final class OutlierDetector {
    /** Ejection reasons as shown in {@code /clusters}. */
    public static final String CONSECUTIVE_5XX = "consecutive_5xx";
    public static final String CONSECUTIVE_GATEWAY_FAILURE = "consecutive_gateway_failure";
    public static final String CONSECUTIVE_LOCAL_ORIGIN_FAILURE = "consecutive_local_origin_failure";
    public static final String SUCCESS_RATE = "success_rate";
    public static final String LOCAL_ORIGIN_SUCCESS_RATE = "local_origin_success_rate";
    public static final String FAILURE_PERCENTAGE = "failure_percentage";
    public static final String LOCAL_ORIGIN_FAILURE_PERCENTAGE = "local_origin_failure_percentage";

    private final OutlierDetectionConfig config;
    private final LongSupplier nanoTime;
    /** A value in [0, 100): an ejection happens when it is below the enforcing percentage. */
    private final IntSupplier dice;
    private final Supplier<List<Host>> hosts;
    private final Map<Host, State> states = new ConcurrentHashMap<>();
    private final Map<String, java.util.concurrent.atomic.LongAdder> ejectionsByReason = new ConcurrentHashMap<>();

    /** Per-host counters; guarded by the detector. */
    static final class State {
        int consecutive5xx;
        int consecutiveGateway;
        int consecutiveLocal;
        long externalTotal;
        long externalSuccess;
        long localTotal;
        long localSuccess;
        int ejections;
        long ejectedAt;
        boolean ejected;
        boolean ejectedThisInterval;
    }

    public OutlierDetector(OutlierDetectionConfig config, LongSupplier nanoTime, IntSupplier dice,
                           Supplier<List<Host>> hosts) {
        this.config = config;
        this.nanoTime = nanoTime;
        this.dice = dice;
        this.hosts = hosts;
    }

    public OutlierDetectionConfig config() {
        return config;
    }

    private State state(Host h) {
        return states.computeIfAbsent(h, k -> new State());
    }

    /** Times the host has been ejected (decays by one per interval without ejection). */
    public synchronized int ejections(Host h) {
        return state(h).ejections;
    }

    /** An upstream response with {@code status} (external origin). */
    public synchronized void onResponse(Host h, int status) {
        State s = state(h);
        s.externalTotal++;
        if (status >= 500) {
            s.consecutive5xx++;
            if (status >= 502 && status <= 504) {
                s.consecutiveGateway++;
            } else {
                s.consecutiveGateway = 0;
            }
            if (s.consecutiveGateway >= config.consecutiveGatewayFailure()
                    && maybeEject(h, s, CONSECUTIVE_GATEWAY_FAILURE, config.enforcingConsecutiveGatewayFailure())) {
                return;
            }
            if (s.consecutive5xx >= config.consecutive5xx()) {
                maybeEject(h, s, CONSECUTIVE_5XX, config.enforcingConsecutive5xx());
            }
        } else {
            s.externalSuccess++;
            s.consecutive5xx = 0;
            s.consecutiveGateway = 0;
        }
    }

    /** A connect failure, timeout or reset. Without the split it counts as a 503 (504 for a timeout). */
    public synchronized void onLocalFailure(Host h, Cluster.LocalFailure f) {
        if (!config.splitExternalLocalOriginErrors()) {
            onResponse(h, f == Cluster.LocalFailure.TIMEOUT ? 504 : 503);
            return;
        }
        State s = state(h);
        s.localTotal++;
        s.consecutiveLocal++;
        if (s.consecutiveLocal >= config.consecutiveLocalOriginFailure()) {
            maybeEject(h, s, CONSECUTIVE_LOCAL_ORIGIN_FAILURE, config.enforcingConsecutiveLocalOriginFailure());
        }
    }

    /** A connection opened (local-origin success, counted only with the split). */
    public synchronized void onLocalSuccess(Host h) {
        if (config.splitExternalLocalOriginErrors()) {
            State s = state(h);
            s.localTotal++;
            s.localSuccess++;
            s.consecutiveLocal = 0;
        }
    }

    private boolean maybeEject(Host h, State s, String reason, int enforcing) {
        if (s.ejected || dice.getAsInt() >= enforcing) {
            return false;
        }
        List<Host> all = hosts.get();
        long ejected = all.stream().filter(x -> state(x).ejected).count();
        if (ejected > 0 && (ejected + 1) * 100 > (long) config.maxEjectionPercent() * all.size()) {
            return false;
        }
        s.ejected = true;
        s.ejectedThisInterval = true;
        s.ejections++;
        s.ejectedAt = nanoTime.getAsLong();
        s.consecutive5xx = 0;
        s.consecutiveGateway = 0;
        s.consecutiveLocal = 0;
        h.ejectedFor(reason);
        ejectionsByReason.computeIfAbsent(reason, r -> new java.util.concurrent.atomic.LongAdder()).increment();
        return true;
    }

    /** Ejections made since the detector started, by reason (for metrics; any thread). */
    public Map<String, Long> ejectionsByReason() {
        Map<String, Long> out = new java.util.TreeMap<>();
        ejectionsByReason.forEach((reason, n) -> out.put(reason, n.sum()));
        return out;
    }

    /** How long the host's current ejection lasts. */
    long ejectionNanos(State s) {
        long base = config.baseEjectionTime().toNanos();
        return Math.min(base * Math.max(1, s.ejections), Math.max(base, config.maxEjectionTime().toNanos()));
    }

    /** The periodic pass: returns hosts whose time is up, then judges success rate and failure percentage. */
    public synchronized void onInterval() {
        long now = nanoTime.getAsLong();
        List<Host> all = hosts.get();
        states.keySet().retainAll(all);
        for (Host h : all) {
            State s = state(h);
            if (s.ejected && now - s.ejectedAt >= ejectionNanos(s)) {
                s.ejected = false;
                h.ejectedFor(null);
            } else if (!s.ejected && !s.ejectedThisInterval && s.ejections > 0) {
                s.ejections--;
            }
        }
        successRate(all, false);
        failurePercentage(all, false);
        if (config.splitExternalLocalOriginErrors()) {
            successRate(all, true);
            failurePercentage(all, true);
        }
        for (Host h : all) {
            State s = state(h);
            s.externalTotal = s.externalSuccess = s.localTotal = s.localSuccess = 0;
            s.ejectedThisInterval = false;
        }
    }

    private void successRate(List<Host> all, boolean local) {
        List<Host> judged = new ArrayList<>();
        List<Double> rates = new ArrayList<>();
        for (Host h : all) {
            State s = state(h);
            long total = local ? s.localTotal : s.externalTotal;
            if (total >= config.successRateRequestVolume()) {
                judged.add(h);
                rates.add(100.0 * (local ? s.localSuccess : s.externalSuccess) / total);
            }
        }
        if (judged.size() < config.successRateMinimumHosts() || judged.isEmpty()) {
            return;
        }
        double mean = rates.stream().mapToDouble(Double::doubleValue).average().orElse(100);
        double var = rates.stream().mapToDouble(r -> (r - mean) * (r - mean)).sum() / rates.size();
        double threshold = mean - config.successRateStdevFactor() * Math.sqrt(var);
        for (int i = 0; i < judged.size(); i++) {
            if (rates.get(i) < threshold) {
                Host h = judged.get(i);
                maybeEject(h, state(h), local ? LOCAL_ORIGIN_SUCCESS_RATE : SUCCESS_RATE,
                        local ? config.enforcingLocalOriginSuccessRate() : config.enforcingSuccessRate());
            }
        }
    }

    private void failurePercentage(List<Host> all, boolean local) {
        List<Host> judged = new ArrayList<>();
        for (Host h : all) {
            State s = state(h);
            if ((local ? s.localTotal : s.externalTotal) >= config.failurePercentageRequestVolume()) {
                judged.add(h);
            }
        }
        if (judged.size() < config.failurePercentageMinimumHosts() || judged.isEmpty()) {
            return;
        }
        for (Host h : judged) {
            State s = state(h);
            long total = local ? s.localTotal : s.externalTotal;
            long ok = local ? s.localSuccess : s.externalSuccess;
            if (100.0 * (total - ok) / total >= config.failurePercentageThreshold()) {
                maybeEject(h, s, local ? LOCAL_ORIGIN_FAILURE_PERCENTAGE : FAILURE_PERCENTAGE,
                        local ? config.enforcingFailurePercentageLocalOrigin() : config.enforcingFailurePercentage());
            }
        }
    }
}
