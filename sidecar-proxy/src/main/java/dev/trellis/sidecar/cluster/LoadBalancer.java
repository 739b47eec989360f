package dev.trellis.sidecar.cluster;

import java.util.List;

/**
 * Picks a host for one request. Implementations are made by {@link LoadBalancers} from the
 * cluster's {@code lb_policy} name and rebuilt when the host set changes.
 */
public interface LoadBalancer {
    /** The host for this request, or {@code null} when no host is healthy (flag UH). */
    Host choose(Context context);

    /** What a balancer may use to pick: a hash key for ring hash, hosts to avoid on retry. */
    interface Context {
        Context NONE = new Context() {};

        /** Hash of the request for consistent-hash balancers; absent by default. */
        default java.util.OptionalLong hash() {
            return java.util.OptionalLong.empty();
        }

        /** True when the balancer should try another host (retry host predicates). */
        default boolean shouldAvoid(Host host) {
            return false;
        }
    }

    /** Makes a balancer over a host set. */
    interface Factory {
        LoadBalancer create(List<Host> hosts);
    }
}
