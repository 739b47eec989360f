package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Balancers by policy name. Only ROUND_ROBIN exists in this build; LEAST_REQUEST, RANDOM,
 * RING_HASH and peak_ewma register here with their factories.
 */
public final class LoadBalancers {
    private static final Map<String, LoadBalancer.Factory> FACTORIES = Map.of(
            "ROUND_ROBIN", RoundRobinLoadBalancer::new);

    private LoadBalancers() {}

    public static LoadBalancer create(String policy, List<Host> hosts) {
        LoadBalancer.Factory f = FACTORIES.get(policy);
        if (f == null) {
            throw new ConfigException("lb_policy: " + policy + " (expected one of: " + FACTORIES.keySet() + ")");
        }
        return f.create(hosts);
    }

    /**
     * Hosts of the best priority level that has a healthy host (Envoy's priority order without
     * overprovisioning, which comes with the resilience work).
     */
    static List<Host> healthiestPriority(List<Host> hosts) {
        int best = Integer.MAX_VALUE;
        for (Host h : hosts) {
            if (h.healthy() && h.priority() < best) {
                best = h.priority();
            }
        }
        List<Host> out = new ArrayList<>();
        for (Host h : hosts) {
            if (h.healthy() && h.priority() == best) {
                out.add(h);
            }
        }
        return out;
    }
}
