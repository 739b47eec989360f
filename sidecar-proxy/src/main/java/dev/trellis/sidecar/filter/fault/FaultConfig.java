package dev.trellis.sidecar.filter.fault;

import dev.trellis.sidecar.config.HttpFilterConfig;
import java.time.Duration;
import java.util.Optional;

/**
 * Envoy's {@code HTTPFault} (the filter's config or a route's override, which replaces it whole):
 * a fixed delay and/or an abort, each for {@code numerator / denominator} of the requests.
 */
public record FaultConfig(String name, Optional<Delay> delay, Optional<Abort> abort) implements HttpFilterConfig {
    /** A fraction of requests: {@code numerator} out of {@code denominator} (100, 10 000 or 1 000 000). */
    public record Fraction(long numerator, long denominator) {
        public Fraction {
            if (denominator <= 0 || numerator < 0) {
                throw new IllegalArgumentException("fraction: " + numerator + "/" + denominator
                        + " (expected: numerator >= 0, denominator > 0)");
            }
        }

        /** True for the requests in the fraction, given a uniformly random {@code draw}. */
        boolean hits(long draw) {
            return numerator >= denominator || Math.floorMod(draw, denominator) < numerator;
        }
    }

    public record Delay(Duration fixed, Fraction fraction) {}

    /** {@code grpcStatus} empty: gRPC requests get the status that {@code httpStatus} maps to. */
    public record Abort(int httpStatus, Optional<Integer> grpcStatus, Fraction fraction) {}
}
