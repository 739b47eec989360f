package dev.trellis.sidecar.cluster;

import java.util.List;

/**
 * Picks a host for one request. Implementations are made by {@link LoadBalancers} from the
 * cluster's {@code lb_policy} (or {@code load_balancing_policy}) and rebuilt when the host set or
 * a host's health changes.
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

        /** How many picks of this request were refused by {@link #shouldAvoid}; a ring walks on by this much. */
        default int selectionAttempt() {
            return 0;
        }

        /** Envoy's {@code host_selection_retry_max_attempts}: picks refused by {@link #shouldAvoid} before one is kept. */
        default int hostSelectionRetryMaxAttempts() {
            return 1;
        }
    }

    /** Makes a balancer over a host set. */
    interface Factory {
        LoadBalancer create(List<Host> hosts);
    }
}
