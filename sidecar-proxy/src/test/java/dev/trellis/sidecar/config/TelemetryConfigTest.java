package dev.trellis.sidecar.config;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Envoy's access_log and tracing fields to the telemetry model, and what is refused. */
class TelemetryConfigTest {
    static final String FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
    static final String STDOUT = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
    static final String OTEL = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig";

    private static SidecarConfig parse(String text) {
        return BootstrapTranslator.translate(BootstrapLoader.parse(text, false));
    }

    private static String with(String hcmExtra, String bootstrapExtra) {
        String b = bootstrap(listener("in", hcmExtra, vhost(route("/", "app"))), cluster("app", "", 8080)
                + "," + cluster("collector", "", 4317));
        return bootstrapExtra.isEmpty() ? b : b.replaceFirst("\\{", "{" + j(bootstrapExtra) + ",");
    }

    static String otelGrpc(String target) {
        return "{'name': 'envoy.tracers.opentelemetry', 'typed_config': {'@type': '" + OTEL + "',"
                + " 'grpc_service': {'google_grpc': {'target_uri': '" + target + "', 'stat_prefix': 'otel'}, 'timeout': '2s'},"
                + " 'service_name': 'users'}}";
    }

    @Test
    void bareBootstrapHasNoAccessLogAndNoTracing() {
        SidecarConfig c = parse(with("", ""));
        assertThat(c.listeners().get(0).telemetry()).isEqualTo(TelemetryConfig.NONE);
        assertThat(c.tracing()).isEmpty();
    }

    @Test
    void fileAndStdoutAccessLogs() {
        SidecarConfig c = parse(with(j("'access_log': [{'name': 'envoy.access_loggers.file', 'typed_config': {'@type': '" + FILE
                + "', 'path': '/var/log/trellis/access.log'}}, {'name': 'envoy.access_loggers.stdout', 'typed_config': {'@type': '"
                + STDOUT + "'}}]"), ""));
        assertThat(c.listeners().get(0).telemetry().accessLogs()).containsExactly(
                new TelemetryConfig.AccessLog(Optional.of(Path.of("/var/log/trellis/access.log"))),
                new TelemetryConfig.AccessLog(Optional.empty()));
    }

    @Test
    void accessLogFormatsAndFiltersAreRefusedWithTheirPath() {
        assertThatThrownBy(() -> parse(with(j("'access_log': [{'name': 'x', 'typed_config': {'@type': '" + FILE
                + "', 'path': '/tmp/a', 'log_format': {'text_format_source': {'inline_string': '%START_TIME%'}}}}]"), "")))
                .hasMessageContaining("access_log[0].typed_config.log_format: not supported by Trellis");
        assertThatThrownBy(() -> parse(with(j("'access_log': [{'name': 'x', 'filter': {'not_health_check_filter': {}},"
                + " 'typed_config': {'@type': '" + STDOUT + "'}}]"), "")))
                .hasMessageContaining("access_log[0].filter: not supported by Trellis");
        assertThatThrownBy(() -> parse(with(j("'access_log': [{'name': 'x', 'typed_config': {'@type': '" + FILE + "'}}]"), "")))
                .hasMessageContaining("access_log[0].typed_config.path: empty");
    }

    @Test
    void bootstrapTracerWithHcmSampling() {
        SidecarConfig c = parse(with(j("'tracing': {'random_sampling': {'value': 25}}"),
                "'tracing': {'http': " + otelGrpc("127.0.0.1:4317") + "}"));
        assertThat(c.tracing()).contains(new TelemetryConfig.Provider(TelemetryConfig.Protocol.GRPC,
                URI.create("http://127.0.0.1:4317"), Optional.of("users"), Duration.ofSeconds(2)));
        assertThat(c.listeners().get(0).telemetry().tracing())
                .contains(new TelemetryConfig.Tracing(0.25, Optional.empty()));
    }

    @Test
    void envoyGrpcNamesAClusterAndHttpServiceAnUrl() {
        SidecarConfig c = parse(with("", "'tracing': {'http': {'name': 'envoy.tracers.opentelemetry', 'typed_config': {'@type': '"
                + OTEL + "', 'grpc_service': {'envoy_grpc': {'cluster_name': 'collector'}}}}}"));
        assertThat(c.tracing().get().endpoint()).isEqualTo(URI.create("http://127.0.0.1:4317"));
        SidecarConfig h = parse(with(j("'tracing': {'provider': {'name': 'envoy.tracers.opentelemetry', 'typed_config': {'@type': '"
                + OTEL + "', 'http_service': {'http_uri': {'uri': 'http://127.0.0.1:4318/v1/traces', 'cluster': 'collector', 'timeout': '1s'}}}}}"), ""));
        TelemetryConfig.Tracing t = h.listeners().get(0).telemetry().tracing().get();
        assertThat(t.samplingRatio()).isEqualTo(1.0);
        assertThat(t.provider()).contains(new TelemetryConfig.Provider(TelemetryConfig.Protocol.HTTP,
                URI.create("http://127.0.0.1:4318/v1/traces"), Optional.empty(), Duration.ofSeconds(1)));
    }

    @Test
    void unsupportedTracingIsRefusedWithItsPath() {
        assertThatThrownBy(() -> parse(with(j("'tracing': {}"), "")))
                .hasMessageContaining("tracing has no provider");
        assertThatThrownBy(() -> parse(with(j("'tracing': {'random_sampling': {'value': 150}}"), "'tracing': {'http': " + otelGrpc("c:4317") + "}")))
                .hasMessageContaining("tracing.random_sampling.value: 150.0 (expected: 0..100)");
        assertThatThrownBy(() -> parse(with(j("'tracing': {'verbose': true}"), "'tracing': {'http': " + otelGrpc("c:4317") + "}")))
                .hasMessageContaining("tracing.verbose: not supported by Trellis");
        assertThatThrownBy(() -> parse(with("", "'tracing': {'http': {'name': 'envoy.tracers.zipkin', 'typed_config': {'@type': '"
                + OTEL + "'}}}")))
                .hasMessageContaining("tracing.http.name: 'envoy.tracers.zipkin' (expected: envoy.tracers.opentelemetry)");
        assertThatThrownBy(() -> parse(with("", "'tracing': {'http': {'name': 'envoy.tracers.opentelemetry', 'typed_config': {'@type': '"
                + OTEL + "', 'grpc_service': {'envoy_grpc': {'cluster_name': 'nope'}}}}}")))
                .hasMessageContaining("tracing.http.typed_config.grpc_service.envoy_grpc.cluster_name: cluster 'nope' is not defined");
        assertThatThrownBy(() -> parse(with("", "'tracing': {'http': {'name': 'envoy.tracers.opentelemetry', 'typed_config': {'@type': '"
                + OTEL + "', 'sampler': {'name': 's', 'typed_config': {'@type': '" + OTEL + "'}}}}}")))
                .hasMessageContaining("tracing.http.typed_config.sampler: not supported by Trellis");
    }

    @Test
    void trafficDirectionPicksTheReporter() {
        String b = bootstrap(listener("in", "", vhost(route("/", "app"))).replaceFirst("\\{", "{\"traffic_direction\": \"INBOUND\","),
                cluster("app", "", 8080));
        assertThat(parse(b).listeners().get(0).telemetry().direction().reporter()).isEqualTo("destination");
        assertThat(parse(with("", "")).listeners().get(0).telemetry().direction().reporter()).isEqualTo("source");
    }
}
