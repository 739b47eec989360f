package dev.trellis.bench.cp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * The simulated mesh: {@code services} services and {@code proxies} sidecars, proxy {@code i} an
 * instance of service {@code i mod services}. Every proxy declares {@code upstreams} upstream
 * services: the first service ({@link #hot()}), which every proxy calls, and the rest drawn at
 * random (fixed seed, never its own service), so a change to any other service concerns only its
 * few callers.
 */
record Topology(List<String> services, List<Proxy> proxies, String hot) {

    /** One simulated sidecar. {@code address} is a made-up 10.x.y.z, never dialled. */
    record Proxy(int index, String service, String instanceId, String address, List<String> upstreams) {
        String nodeId() {
            return "sidecar~" + service + "~" + instanceId;
        }
    }

    static Topology of(int services, int proxies, int upstreams, long seed) {
        if (services < 1) throw new IllegalArgumentException("services: " + services + " (expected: >= 1)");
        if (proxies < 1) throw new IllegalArgumentException("proxies: " + proxies + " (expected: >= 1)");
        if (upstreams < 1) throw new IllegalArgumentException("upstreams: " + upstreams + " (expected: >= 1)");
        int width = Math.max(4, Integer.toString(services - 1).length());
        List<String> names = new ArrayList<>(services);
        for (int s = 0; s < services; s++) {
            names.add(String.format(Locale.ROOT, "svc-%0" + width + "d", s));
        }
        String hot = names.get(0);
        Random random = new Random(seed);
        List<Proxy> out = new ArrayList<>(proxies);
        for (int i = 0; i < proxies; i++) {
            String service = names.get(i % services);
            Set<String> up = new LinkedHashSet<>();
            up.add(hot);
            // services other than the hot one and the proxy's own; fewer when the mesh is tiny
            int others = services - 1 - (service.equals(hot) ? 0 : 1);
            int want = Math.min(upstreams - 1, others);
            while (up.size() - 1 < want) {
                String u = names.get(1 + random.nextInt(services - 1));
                if (!u.equals(service)) up.add(u);
            }
            String address = "10." + ((i >> 16) & 255) + "." + ((i >> 8) & 255) + "." + (i & 255);
            out.add(new Proxy(i, service, service + "-" + i, address, List.copyOf(up)));
        }
        return new Topology(List.copyOf(names), List.copyOf(out), hot);
    }

    /** Registered instances per service. */
    Map<String, Integer> instancesByService() {
        Map<String, Integer> m = new HashMap<>();
        for (Proxy p : proxies) m.merge(p.service(), 1, Integer::sum);
        return m;
    }

    /** The proxies that declare {@code service} as an upstream. */
    List<Proxy> callersOf(String service) {
        return proxies.stream().filter(p -> p.upstreams().contains(service)).toList();
    }

    /**
     * The service other than {@link #hot()} with the most callers (ties: the first by name), or
     * empty when no other service has callers.
     */
    java.util.Optional<String> busiestColdService() {
        Map<String, Integer> callers = new TreeMap<>();
        for (Proxy p : proxies) {
            for (String u : p.upstreams()) {
                if (!u.equals(hot)) callers.merge(u, 1, Integer::sum);
            }
        }
        return callers.entrySet().stream().max(Map.Entry.<String, Integer>comparingByValue()
                        .thenComparing(Map.Entry.comparingByKey(java.util.Comparator.reverseOrder())))
                .map(Map.Entry::getKey);
    }
}
