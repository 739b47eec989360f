package dev.trellis.sidecar.cluster;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Envoy's RING_HASH: every host owns points on a 64-bit ring in proportion to its weight (the
 * ring has at least the minimum and at most the maximum size); a request goes to the first point at
 * or after its hash. Adding or removing a host moves only the keys on its own points. Requests without a
 * hash get a random point.
 */
final class RingHashLoadBalancer implements LoadBalancer {
    private final long[] points;
    private final Host[] owners;

    RingHashLoadBalancer(List<Host> hosts, long minRingSize, long maxRingSize) {
        if (hosts.isEmpty()) {
            points = new long[0];
            owners = new Host[0];
            return;
        }
        // The lightest host gets minimum_ring_size points and the others in proportion to their weight,
        // scaled down only when that would pass maximum_ring_size. A host's points then do not depend on
        // how many other hosts there are, so a host joining or leaving moves only the keys on its points.
        long minWeight = hosts.stream().mapToLong(Host::weight).min().getAsLong();
        double units = hosts.stream().mapToDouble(h -> (double) h.weight() / minWeight).sum();
        double perUnit = Math.max(1, Math.min(minRingSize, Math.floor(maxRingSize / units)));
        int size = 0;
        int[] counts = new int[hosts.size()];
        for (int i = 0; i < hosts.size(); i++) {
            counts[i] = (int) Math.max(1, Math.round((double) hosts.get(i).weight() / minWeight * perUnit));
            size += counts[i];
        }
        long[] keys = new long[size];
        Host[] byKey = new Host[size];
        Integer[] order = new Integer[size];
        int k = 0;
        for (int i = 0; i < hosts.size(); i++) {
            String base = hosts.get(i).label() + "_";
            for (int j = 0; j < counts[i]; j++) {
                keys[k] = Hashing.hash64(base + j);
                byKey[k] = hosts.get(i);
                order[k] = k;
                k++;
            }
        }
        Arrays.sort(order, (a, b) -> Long.compareUnsigned(keys[a], keys[b]));
        points = new long[size];
        owners = new Host[size];
        for (int i = 0; i < size; i++) {
            points[i] = keys[order[i]];
            owners[i] = byKey[order[i]];
        }
    }

    int size() {
        return points.length;
    }

    @Override
    public Host choose(Context context) {
        if (points.length == 0) {
            return null;
        }
        var hash = context.hash();
        long h = hash.isPresent() ? hash.getAsLong() : ThreadLocalRandom.current().nextLong();
        int lo = 0;
        int hi = points.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(points[mid], h) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // a host refused by a retry predicate is skipped by walking on along the ring
        return owners[(int) ((lo + (long) context.selectionAttempt()) % points.length)];
    }
}
