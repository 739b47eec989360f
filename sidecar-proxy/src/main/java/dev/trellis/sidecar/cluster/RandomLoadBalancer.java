package dev.trellis.sidecar.cluster;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Weighted random choice. */
final class RandomLoadBalancer implements LoadBalancer {
    private final List<Host> hosts;
    private final long[] cumulative;

    RandomLoadBalancer(List<Host> hosts) {
        this.hosts = hosts;
        this.cumulative = new long[hosts.size()];
        long t = 0;
        for (int i = 0; i < hosts.size(); i++) {
            t += hosts.get(i).weight();
            cumulative[i] = t;
        }
    }

    @Override
    public Host choose(Context context) {
        if (hosts.isEmpty()) {
            return null;
        }
        long r = ThreadLocalRandom.current().nextLong(cumulative[cumulative.length - 1]);
        for (int i = 0; i < cumulative.length; i++) {
            if (r < cumulative[i]) {
                return hosts.get(i);
            }
        }
        return hosts.get(hosts.size() - 1);
    }
}
