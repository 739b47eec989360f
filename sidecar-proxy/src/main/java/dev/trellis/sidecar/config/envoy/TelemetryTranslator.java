package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.TelemetryConfig;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.config.trace.v3.Tracing;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Envoy's {@code access_log}, HCM {@code tracing} and bootstrap {@code tracing.http} to
 * {@link TelemetryConfig}. Access logs: {@code envoy.access_loggers.file} (path only) and
 * {@code envoy.access_loggers.stdout}, both in Trellis' JSON format. Tracing:
 * {@code envoy.tracers.opentelemetry} over gRPC or HTTP.
 */
public final class TelemetryTranslator {
    public static final String OPENTELEMETRY = "envoy.tracers.opentelemetry";
    static final Duration DEFAULT_EXPORT_TIMEOUT = Duration.ofSeconds(10);

    private TelemetryTranslator() {}

    /** The telemetry of a listener whose HCM is {@code h}. */
    public static TelemetryConfig listener(Listener l, HttpConnectionManager h, String hcmPath) {
        TelemetryConfig.Direction direction = switch (l.getTrafficDirection()) {
            case INBOUND -> TelemetryConfig.Direction.INBOUND;
            case OUTBOUND -> TelemetryConfig.Direction.OUTBOUND;
            default -> TelemetryConfig.Direction.UNSPECIFIED;
        };
        List<TelemetryConfig.AccessLog> logs = new ArrayList<>();
        for (int i = 0; i < h.getAccessLogCount(); i++) {
            logs.add(accessLog(h.getAccessLog(i), hcmPath + ".access_log[" + i + "]"));
        }
        Optional<TelemetryConfig.Tracing> tracing = Optional.empty();
        if (h.hasTracing()) {
            var t = h.getTracing();
            String p = hcmPath + ".tracing";
            Fields.allowOnly(t, p, "random_sampling", "provider", "spawn_upstream_span");
            double ratio = 1.0;
            if (t.hasRandomSampling()) {
                double pct = t.getRandomSampling().getValue();
                if (!(pct >= 0 && pct <= 100)) {
                    throw Fields.invalid(p + ".random_sampling.value", pct, "0..100");
                }
                ratio = pct / 100;
            }
            Optional<TelemetryConfig.Provider> provider = t.hasProvider()
                    ? Optional.of(provider(t.getProvider(), p + ".provider", Map.of()))
                    : Optional.empty();
            tracing = Optional.of(new TelemetryConfig.Tracing(ratio, provider));
        }
        return new TelemetryConfig(direction, logs, tracing);
    }

    static TelemetryConfig.AccessLog accessLog(AccessLog a, String path) {
        Fields.allowOnly(a, path, "name", "typed_config");
        if (!a.hasTypedConfig()) {
            throw new ConfigException(path + ".typed_config: missing (expected: "
                    + FileAccessLog.getDescriptor().getFullName() + " or " + StdoutAccessLog.getDescriptor().getFullName() + ")");
        }
        String url = a.getTypedConfig().getTypeUrl();
        String type = url.substring(url.lastIndexOf('/') + 1);
        if (type.equals(StdoutAccessLog.getDescriptor().getFullName())) {
            StdoutAccessLog s = EnvoyTypes.unpack(a.getTypedConfig(), StdoutAccessLog.class,
                    StdoutAccessLog.getDescriptor(), path + ".typed_config");
            Fields.allowOnly(s, path + ".typed_config");
            return new TelemetryConfig.AccessLog(Optional.empty());
        }
        FileAccessLog f = EnvoyTypes.unpack(a.getTypedConfig(), FileAccessLog.class, FileAccessLog.getDescriptor(),
                path + ".typed_config");
        Fields.allowOnly(f, path + ".typed_config", "path");
        if (f.getPath().isEmpty()) {
            throw new ConfigException(path + ".typed_config.path: empty (expected: a file path, e.g. /dev/stdout)");
        }
        return new TelemetryConfig.AccessLog(f.getPath().equals("/dev/stdout") ? Optional.empty()
                : Optional.of(Path.of(f.getPath())));
    }

    /** The bootstrap's {@code tracing}: only {@code http} with the OpenTelemetry tracer. */
    public static Optional<TelemetryConfig.Provider> bootstrap(Tracing t, String path,
                                                               Map<String, ClusterConfig> clusters) {
        Fields.allowOnly(t, path, "http");
        if (!t.hasHttp()) {
            return Optional.empty();
        }
        return Optional.of(provider(t.getHttp(), path + ".http", clusters));
    }

    static TelemetryConfig.Provider provider(Tracing.Http http, String path, Map<String, ClusterConfig> clusters) {
        Fields.allowOnly(http, path, "name", "typed_config");
        if (!http.getName().isEmpty() && !http.getName().equals(OPENTELEMETRY)) {
            throw Fields.invalid(path + ".name", "'" + http.getName() + "'", OPENTELEMETRY);
        }
        OpenTelemetryConfig o = EnvoyTypes.unpack(http.getTypedConfig(), OpenTelemetryConfig.class,
                OpenTelemetryConfig.getDescriptor(), path + ".typed_config");
        String p = path + ".typed_config";
        Fields.allowOnly(o, p, "grpc_service", "http_service", "service_name");
        Optional<String> service = o.getServiceName().isEmpty() ? Optional.empty() : Optional.of(o.getServiceName());
        if (o.hasGrpcService()) {
            GrpcService g = o.getGrpcService();
            String gp = p + ".grpc_service";
            Fields.allowOnly(g, gp, "envoy_grpc", "google_grpc", "timeout");
            Duration timeout = g.hasTimeout() ? Fields.positive(g.getTimeout(), gp + ".timeout") : DEFAULT_EXPORT_TIMEOUT;
            String target;
            if (g.hasGoogleGrpc()) {
                Fields.allowOnly(g.getGoogleGrpc(), gp + ".google_grpc", "target_uri", "stat_prefix");
                target = g.getGoogleGrpc().getTargetUri();
                if (target.isEmpty()) {
                    throw new ConfigException(gp + ".google_grpc.target_uri: empty (expected: host:port)");
                }
            } else if (g.hasEnvoyGrpc()) {
                Fields.allowOnly(g.getEnvoyGrpc(), gp + ".envoy_grpc", "cluster_name");
                target = clusterAddress(g.getEnvoyGrpc().getClusterName(), gp + ".envoy_grpc.cluster_name", clusters);
            } else {
                throw new ConfigException(gp + ": no target (expected: envoy_grpc or google_grpc)");
            }
            return new TelemetryConfig.Provider(TelemetryConfig.Protocol.GRPC,
                    uri(target.contains("://") ? target : "http://" + target, gp), service, timeout);
        }
        if (o.hasHttpService()) {
            String hp = p + ".http_service";
            Fields.allowOnly(o.getHttpService(), hp, "http_uri");
            HttpUri u = o.getHttpService().getHttpUri();
            Fields.allowOnly(u, hp + ".http_uri", "uri", "cluster", "timeout");
            Duration timeout = u.hasTimeout() ? Fields.positive(u.getTimeout(), hp + ".http_uri.timeout")
                    : DEFAULT_EXPORT_TIMEOUT;
            URI uri = uri(u.getUri(), hp + ".http_uri.uri");
            if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                throw Fields.invalid(hp + ".http_uri.uri", "'" + u.getUri() + "'",
                        "an absolute http(s) URL such as http://collector:4318/v1/traces");
            }
            return new TelemetryConfig.Provider(TelemetryConfig.Protocol.HTTP, uri, service, timeout);
        }
        throw new ConfigException(p + ": no collector (expected: grpc_service or http_service)");
    }

    private static String clusterAddress(String name, String path, Map<String, ClusterConfig> clusters) {
        ClusterConfig c = clusters.get(name);
        if (c == null) {
            throw new ConfigException(path + ": cluster '" + name + "' is not defined"
                    + (clusters.isEmpty() ? " (expected: google_grpc.target_uri here)"
                    : " (expected one of: " + String.join(", ", clusters.keySet()) + ")"));
        }
        if (c.endpoints().isEmpty()) {
            throw new ConfigException(path + ": cluster '" + name + "' has no endpoints (expected: a static collector address)");
        }
        var a = c.endpoints().get(0).address();
        return a.toString();
    }

    private static URI uri(String s, String path) {
        try {
            return new URI(s);
        } catch (URISyntaxException e) {
            throw Fields.invalid(path, "'" + s + "'", "a valid URI: " + e.getMessage());
        }
    }
}
