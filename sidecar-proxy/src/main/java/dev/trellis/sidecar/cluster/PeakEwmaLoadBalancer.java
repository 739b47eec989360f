package dev.trellis.sidecar.cluster;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Linkerd's balancer: power of two choices on cost = peak-EWMA latency x (outstanding + 1),
 * divided by the host's weight. Selected by the {@code trellis.load_balancing_policies.peak_ewma}
 * extension.
 */
final class PeakEwmaLoadBalancer implements LoadBalancer {
    private final List<Host> hosts;

    PeakEwmaLoadBalancer(List<Host> hosts) {
        this.hosts = hosts;
    }

    static double cost(Host h) {
        return h.ewma().estimateNanos() * (h.activeRequests().get() + 1) / h.weight();
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
        int i = rnd.nextInt(n);
        int j = rnd.nextInt(n - 1);
        if (j >= i) {
            j++;
        }
        Host a = hosts.get(i);
        Host b = hosts.get(j);
        return cost(a) <= cost(b) ? a : b;
    }
}
