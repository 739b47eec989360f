package dev.trellis.sidecar.config.envoy;

import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code circuit_breakers} on clusters from xDS, until the sidecar enforces them: the control plane
 * sends thresholds on every cluster, so refusing them would refuse every config. Their shape is
 * checked (a malformed one is still refused with its path) and a warning says, once, that they are
 * not enforced. Bootstraps keep refusing the field.
 */
final class XdsCircuitBreakers {
    private static final Logger log = LoggerFactory.getLogger(XdsCircuitBreakers.class);
    private static final AtomicBoolean warned = new AtomicBoolean();

    private XdsCircuitBreakers() {}

    static void check(CircuitBreakers cb, String path) {
        Fields.allowOnly(cb, path, "thresholds");
        for (int i = 0; i < cb.getThresholdsCount(); i++) {
            Fields.allowOnly(cb.getThresholds(i), path + ".thresholds[" + i + "]", "priority", "max_connections",
                    "max_pending_requests", "max_requests", "max_retries", "retry_budget");
        }
        if (warned.compareAndSet(false, true)) {
            log.warn("{}: circuit breaker thresholds from the control plane are accepted but not enforced by this build", path);
        }
    }
}
