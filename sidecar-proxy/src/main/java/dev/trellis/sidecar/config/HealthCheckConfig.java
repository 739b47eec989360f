package dev.trellis.sidecar.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One active health check of a cluster ({@code health_checks[]}): what to send, how often, and
 * how many results in a row flip a host's state.
 */
public record HealthCheckConfig(Kind kind, Duration interval, Duration timeout, int unhealthyThreshold,
                                int healthyThreshold, Duration intervalJitter, int intervalJitterPercent,
                                Duration noTrafficInterval, String path, Optional<String> host,
                                List<StatusRange> expectedStatuses, String grpcServiceName, boolean http2) {
    /** Protocol of the check. */
    public enum Kind { HTTP, TCP, GRPC }

    /** {@code [start, end)} as Envoy's {@code Int64Range}. */
    public record StatusRange(int start, int end) {
        public boolean contains(int status) {
            return status >= start && status < end;
        }
    }

    public HealthCheckConfig {
        expectedStatuses = List.copyOf(expectedStatuses);
        if (interval.isZero() || interval.isNegative() || timeout.isZero() || timeout.isNegative()) {
            throw new ConfigException("health_checks: interval " + interval.toMillis() + "ms, timeout "
                    + timeout.toMillis() + "ms (expected: both > 0)");
        }
        if (unhealthyThreshold < 1 || healthyThreshold < 1) {
            throw new ConfigException("health_checks: unhealthy_threshold " + unhealthyThreshold
                    + ", healthy_threshold " + healthyThreshold + " (expected: both >= 1)");
        }
    }

    public boolean expected(int status) {
        for (StatusRange r : expectedStatuses) {
            if (r.contains(status)) {
                return true;
            }
        }
        return false;
    }
}
