package dev.trellis.sidecar.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What one listener reports about its requests: which side of a call it is on (the
 * {@code reporter} of its metrics), where its access log lines go, and whether it traces.
 */
public record TelemetryConfig(Direction direction, List<AccessLog> accessLogs, Optional<Tracing> tracing) {
    /** No access log, no tracing: what a bare bootstrap gets. */
    public static final TelemetryConfig NONE = new TelemetryConfig(Direction.UNSPECIFIED, List.of(), Optional.empty());

    public TelemetryConfig {
        accessLogs = List.copyOf(accessLogs);
    }

    public TelemetryConfig withDirection(Direction d) {
        return new TelemetryConfig(d, accessLogs, tracing);
    }

    /** Envoy's listener {@code traffic_direction}. */
    public enum Direction {
        UNSPECIFIED, INBOUND, OUTBOUND;

        /** Istio's {@code reporter} label: the callee's proxy reports as destination. */
        public String reporter() {
            return this == INBOUND ? "destination" : "source";
        }
    }

    /** One access log: a file, or standard output when {@code path} is empty. */
    public record AccessLog(Optional<Path> path) {
        public String describe() {
            return path.map(Path::toString).orElse("stdout");
        }
    }

    /**
     * The HCM's {@code tracing}: the sampling ratio (0..1) of new traces and where spans go (empty:
     * the bootstrap's {@code tracing.http}).
     */
    public record Tracing(double samplingRatio, Optional<Provider> provider) {
        public Tracing {
            if (!(samplingRatio >= 0 && samplingRatio <= 1)) {
                throw new ConfigException("tracing.random_sampling: " + samplingRatio * 100 + "% (expected: 0..100)");
            }
        }
    }

    /** An OTLP collector: {@code envoy.tracers.opentelemetry} with a gRPC or HTTP service. */
    public record Provider(Protocol protocol, URI endpoint, Optional<String> serviceName, Duration timeout) {}

    /** OTLP transport. */
    public enum Protocol { GRPC, HTTP }
}
