package dev.trellis.sidecar.cluster;

import java.util.List;

/**
 * Smooth weighted round robin (as nginx): each pick adds every host's weight to its current
 * value and takes the largest, which spreads a heavy host's turns evenly.
 */
final class RoundRobinLoadBalancer implements LoadBalancer {
    private final List<Host> hosts;
    private final long[] current;
    private final long total;

    RoundRobinLoadBalancer(List<Host> hosts) {
        this.hosts = hosts;
        this.current = new long[hosts.size()];
        long t = 0;
        for (Host h : hosts) {
            t += h.weight();
        }
        this.total = t;
    }

    @Override
    public synchronized Host choose(Context context) {
        if (hosts.isEmpty()) {
            return null;
        }
        int best = 0;
        for (int i = 0; i < hosts.size(); i++) {
            current[i] += hosts.get(i).weight();
            if (current[i] > current[best]) {
                best = i;
            }
        }
        current[best] -= total;
        return hosts.get(best);
    }
}
