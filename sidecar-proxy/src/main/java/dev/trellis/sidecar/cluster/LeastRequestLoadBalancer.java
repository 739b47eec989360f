package dev.trellis.sidecar.cluster;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Envoy's LEAST_REQUEST: with equal weights, the host with the fewest active requests among
 * {@code choiceCount} random picks (power of two choices by default); with unequal weights, a
 * weighted random pick where a host's weight is divided by {@code (active + 1) ^ bias}.
 */
final class LeastRequestLoadBalancer implements LoadBalancer {
    private final List<Host> hosts;
    private final int choiceCount;
    private final double bias;
    private final boolean equalWeights;

    LeastRequestLoadBalancer(List<Host> hosts, int choiceCount, double bias) {
        this.hosts = hosts;
        this.choiceCount = choiceCount;
        this.bias = bias;
        this.equalWeights = hosts.stream().mapToInt(Host::weight).distinct().count() <= 1;
    }

    @Override
    public Host choose(Context context) {
        int n = hosts.size();
        if (n == 0) {
            return null;
        }
        if (n == 1) {
            return hosts.get(0);
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        if (equalWeights) {
            Host best = null;
            for (int i = 0; i < choiceCount; i++) {
                Host h = hosts.get(rnd.nextInt(n));
                if (best == null || h.activeRequests().get() < best.activeRequests().get()) {
                    best = h;
                }
            }
            return best;
        }
        double[] w = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            Host h = hosts.get(i);
            double active = h.activeRequests().get();
            w[i] = bias == 1.0 ? h.weight() / (active + 1) : h.weight() / Math.pow(active + 1, bias);
            total += w[i];
        }
        double r = rnd.nextDouble(total);
        for (int i = 0; i < n; i++) {
            r -= w[i];
            if (r < 0) {
                return hosts.get(i);
            }
        }
        return hosts.get(n - 1);
    }
}
