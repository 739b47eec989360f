package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.LbConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Balancers by policy, over a cluster's hosts split into priority levels as Envoy does: each
 * level gets {@code min(100, 1.4 x healthy%)} of the traffic, in priority order, so a lower
 * priority gets traffic only when the higher ones lack healthy hosts. A level with fewer than
 * {@code panicThreshold}% healthy hosts is in panic and balances across all its hosts; when all
 * levels together are that unhealthy, every level is.
 */
public final class LoadBalancers {
    /** Envoy's overprovisioning factor (1.4). */
    static final double OVERPROVISIONING = 1.4;

    private LoadBalancers() {}

    /** A balancer of the named policy with default settings. */
    public static LoadBalancer create(String policy, List<Host> hosts) {
        LbConfig.Policy p;
        try {
            p = LbConfig.Policy.valueOf(policy);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("lb_policy: " + policy + " (expected one of: "
                    + java.util.Arrays.toString(LbConfig.Policy.values()) + ")");
        }
        return create(LbConfig.of(p), hosts);
    }

    public static LoadBalancer create(LbConfig config, List<Host> hosts) {
        return new PriorityLoadBalancer(config, hosts);
    }

    /** A balancer of one policy over exactly {@code hosts}. */
    static LoadBalancer level(LbConfig c, List<Host> hosts) {
        return switch (c.policy()) {
            case ROUND_ROBIN -> new RoundRobinLoadBalancer(hosts);
            case LEAST_REQUEST -> new LeastRequestLoadBalancer(hosts, c.choiceCount(), c.activeRequestBias());
            case RANDOM -> new RandomLoadBalancer(hosts);
            case RING_HASH -> new RingHashLoadBalancer(hosts, c.minRingSize(), c.maxRingSize());
            case PEAK_EWMA -> new PeakEwmaLoadBalancer(hosts);
        };
    }

    /** Picks a priority level by its share of the load, then a host inside it. */
    static final class PriorityLoadBalancer implements LoadBalancer {
        private final List<Level> levels = new ArrayList<>();
        /** Cumulative load per level, out of 100. */
        private final double[] cumulative;

        PriorityLoadBalancer(LbConfig config, List<Host> hosts) {
            TreeMap<Integer, List<Host>> byPriority = new TreeMap<>();
            for (Host h : hosts) {
                byPriority.computeIfAbsent(h.priority(), k -> new ArrayList<>()).add(h);
            }
            double totalHealth = 0;
            double[] health = new double[byPriority.size()];
            int i = 0;
            for (List<Host> all : byPriority.values()) {
                List<Host> healthy = all.stream().filter(Host::healthy).toList();
                health[i] = Math.min(100, OVERPROVISIONING * 100.0 * healthy.size() / all.size());
                totalHealth += health[i];
                boolean panic = config.panicThreshold() > 0 && 100.0 * healthy.size() / all.size() < config.panicThreshold();
                levels.add(new Level(config, all, healthy, panic));
                i++;
            }
            totalHealth = Math.min(100, totalHealth);
            cumulative = new double[levels.size()];
            boolean allPanic = config.panicThreshold() > 0 && totalHealth < config.panicThreshold();
            double running = 0;
            for (int j = 0; j < levels.size(); j++) {
                double load;
                if (allPanic) {
                    // every level is in panic: traffic in proportion to each level's host count
                    load = 100.0 * levels.get(j).all.size() / hosts.size();
                    levels.set(j, levels.get(j).inPanic());
                } else if (totalHealth == 0) {
                    load = 0;
                } else {
                    load = Math.min(100 - running, health[j] * 100 / totalHealth);
                }
                running += load;
                cumulative[j] = running;
            }
        }

        @Override
        public Host choose(Context ctx) {
            if (levels.isEmpty() || cumulative[cumulative.length - 1] <= 0) {
                return null;
            }
            double total = cumulative[cumulative.length - 1];
            var hash = ctx.hash();
            // a hashed request keeps its level too, so it sticks to one host while health holds
            double r = hash.isPresent() ? Long.remainderUnsigned(hash.getAsLong(), 10_000) / 10_000.0 * total
                    : ThreadLocalRandom.current().nextDouble(total);
            for (int j = 0; j < levels.size(); j++) {
                if (r < cumulative[j]) {
                    return levels.get(j).choose(ctx);
                }
            }
            return levels.get(levels.size() - 1).choose(ctx);
        }

        /** For tests and {@code /clusters}: the share of traffic of each level, in percent. */
        double[] loads() {
            double[] out = new double[cumulative.length];
            for (int j = 0; j < out.length; j++) {
                out[j] = cumulative[j] - (j == 0 ? 0 : cumulative[j - 1]);
            }
            return out;
        }
    }

    /** One priority level with the balancer over its healthy hosts, or over all when in panic. */
    private static final class Level {
        final LbConfig config;
        final List<Host> all;
        final List<Host> healthy;
        final boolean panic;
        final LoadBalancer lb;

        Level(LbConfig config, List<Host> all, List<Host> healthy, boolean panic) {
            this.config = config;
            this.all = all;
            this.healthy = healthy;
            this.panic = panic;
            this.lb = level(config, panic ? all : healthy);
        }

        Level inPanic() {
            return panic ? this : new Level(config, all, healthy, true);
        }

        Host choose(LoadBalancer.Context ctx) {
            return lb.choose(ctx);
        }
    }
}
