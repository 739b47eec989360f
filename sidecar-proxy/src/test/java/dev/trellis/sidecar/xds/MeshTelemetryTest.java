package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.sidecar.observe.OtlpReceiver;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * MeshConfig telemetry end to end: a real control plane compiles {@code accessLog} and
 * {@code tracing} into the HCMs it sends; two flags-mode sidecars take them over xDS, export
 * their spans to an in-process OTLP collector and write access log lines to the file, and a
 * policy edit changes the sampling ratio on the running sidecars.
 */
class MeshTelemetryTest {
    Mesh mesh;
    OtlpReceiver otlp;

    static String policy(Path log, int collectorPort, double sampling) {
        return """
                kind: MeshConfig
                name: default
                spec:
                  tlsMode: disable
                  defaults:
                    loadBalancer: round_robin
                    retries: {attempts: 0}
                  accessLog: %s
                  tracing: {collector: "127.0.0.1:%d", sampling: %s}
                """.formatted(log, collectorPort, sampling);
    }

    @AfterEach
    void stop() {
        if (mesh != null) {
            mesh.close();
        }
        if (otlp != null) {
            otlp.close();
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS) // two sidecars, a control plane and an OTLP exporter warming up
    void meshConfigTracingAndAccessLogReachFlagsModeSidecarsAndTakeEffect() throws Exception {
        otlp = new OtlpReceiver();
        Path log = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "mesh-telemetry")
                .resolve("access.log").toAbsolutePath();
        mesh = new Mesh(Duration.ofMillis(300), 0, policy(log, otlp.grpcPort(), 100));
        TestApp users = mesh.app("users-app");
        TestApp front = mesh.app("front-app");
        MeshSidecar u = mesh.sidecar(mesh.options("users", users, Map.of()));
        MeshSidecar f = mesh.sidecar(mesh.options("front", front, Map.of("users", 0)));
        // the first config builds an OTLP exporter: slow on a loaded machine
        await().atMost(Duration.ofSeconds(60)).until(() -> u.ready() && f.ready()
                && MeshTrafficTest.hosts(f, "outbound|users") == 1);
        int upstream = Mesh.port(f, "upstream|users");
        Map<String, Double> m = scrape(f);
        assertThat(m).containsEntry("trellis_control_plane_connected", 1.0)
                .containsEntry("trellis_config_updates_total{result=\"rejected\"}", 0.0);
        assertThat(m.get("trellis_config_updates_total{result=\"accepted\"}")).isGreaterThanOrEqualTo(4.0);
        double lds = m.get("trellis_config_version{type=\"LDS\"}");
        assertThat(lds).isPositive();

        // sampled at 100%: a call without trace context starts a trace of four spans across both sidecars
        HttpResponse<String> r = send(upstream, "/users/42", null, "req-mesh-1");
        assertThat(r.statusCode()).isEqualTo(200);
        String traceparent = users.lastTraceparent;
        assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        String trace = traceparent.substring(3, 35);
        List<OtlpReceiver.Received> spans = spans(trace, 4);
        OtlpReceiver.Received fServer = one(spans, "front", Span.SpanKind.SPAN_KIND_SERVER);
        OtlpReceiver.Received fClient = one(spans, "front", Span.SpanKind.SPAN_KIND_CLIENT);
        OtlpReceiver.Received uServer = one(spans, "users", Span.SpanKind.SPAN_KIND_SERVER);
        OtlpReceiver.Received uClient = one(spans, "users", Span.SpanKind.SPAN_KIND_CLIENT);
        assertThat(fServer.parentSpanId()).isEmpty();
        assertThat(fClient.parentSpanId()).isEqualTo(fServer.spanId());
        assertThat(uServer.parentSpanId()).isEqualTo(fClient.spanId());
        assertThat(uClient.parentSpanId()).isEqualTo(uServer.spanId());
        assertThat(traceparent).isEqualTo("00-" + trace + "-" + uClient.spanId() + "-01");
        assertThat(fServer.attributes()).containsEntry("http.request.method", "GET").containsEntry("url.path", "/users/42")
                .containsEntry("http.response.status_code", "200").containsEntry("trellis.request_id", "req-mesh-1");
        assertThat(fClient.attributes()).containsEntry("trellis.upstream.cluster", "outbound|users")
                .containsEntry("server.port", Integer.toString(u.options().inboundPort()));
        assertThat(uClient.attributes()).containsEntry("server.port", Integer.toString(users.port()));

        // both sidecars wrote a line to the MeshConfig's file, with the configured fields
        List<JsonNode> lines = lines(log, trace, 2);
        JsonNode out = lines.stream().filter(l -> l.get("span_id").asText().equals(fServer.spanId())).findFirst().orElseThrow();
        JsonNode in = lines.stream().filter(l -> l.get("span_id").asText().equals(uServer.spanId())).findFirst().orElseThrow();
        for (JsonNode l : List.of(out, in)) {
            assertThat(l.get("request_id").asText()).isEqualTo("req-mesh-1");
            assertThat(l.get("method").asText()).isEqualTo("GET");
            assertThat(l.get("path").asText()).isEqualTo("/users/42");
            assertThat(l.get("protocol").asText()).isEqualTo("HTTP/1.1");
            assertThat(l.get("response_code").asInt()).isEqualTo(200);
            assertThat(l.get("response_flags").asText()).isEqualTo("-");
            assertThat(l.get("attempts").asInt()).isEqualTo(1);
            assertThat(l.get("bytes_sent").asLong()).isEqualTo("users-app".length());
            assertThat(l.get("destination_service").asText()).isEqualTo("users");
            assertThat(l.get("duration_ms").asLong()).isGreaterThanOrEqualTo(0);
        }
        assertThat(out.get("upstream_host").asText()).isEqualTo("127.0.0.1:" + u.options().inboundPort());
        assertThat(in.get("upstream_host").asText()).isEqualTo("127.0.0.1:" + users.port());

        // the operator turns sampling down to 0%: new traces stop, a caller's sampled decision is still kept
        mesh.policy(policy(log, otlp.grpcPort(), 0));
        await().atMost(Duration.ofSeconds(20)).until(() -> sampling(f) == 0.0 && sampling(u) == 0.0);
        assertThat(scrape(f).get("trellis_config_version{type=\"LDS\"}")).isGreaterThan(lds);
        int before = otlp.spans.size();
        for (int i = 0; i < 5; i++) {
            assertThat(send(upstream, "/unsampled", null, "req-unsampled-" + i).statusCode()).isEqualTo(200);
        }
        String kept = "5b8efff798038103d269b633813fc60c";
        assertThat(send(upstream, "/kept", "00-" + kept + "-eee19b7ec3c1b174-01", "req-kept").statusCode()).isEqualTo(200);
        List<OtlpReceiver.Received> keptSpans = spans(kept, 4);
        assertThat(one(keptSpans, "front", Span.SpanKind.SPAN_KIND_SERVER).parentSpanId()).isEqualTo("eee19b7ec3c1b174");
        f.sidecar().telemetry().flushTraces(Duration.ofSeconds(5));
        u.sidecar().telemetry().flushTraces(Duration.ofSeconds(5));
        assertThat(otlp.spans.size()).as("only the kept trace's spans were exported").isEqualTo(before + 4);
        // unsampled requests are still access-logged, by both sidecars
        await().atMost(Duration.ofSeconds(10)).until(() -> parse(log).stream()
                .filter(l -> l.get("request_id").asText().startsWith("req-unsampled-")).count() == 10);
    }

    static HttpResponse<String> send(int port, String path, String traceparent, String requestId) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).header("x-request-id", requestId);
        if (traceparent != null) {
            b.header("traceparent", traceparent);
        }
        return Mesh.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The sidecar's {@code /metrics}, checked by promtool (when installed) and parsed. */
    static Map<String, Double> scrape(MeshSidecar s) throws Exception {
        String text = Mesh.get(s.sidecar().adminAddress().getPort(), "/metrics").body();
        if (dev.trellis.sidecar.observe.Exposition.promtoolInstalled()) {
            dev.trellis.sidecar.observe.Exposition.checkWithPromtool(text);
        }
        return dev.trellis.sidecar.observe.Exposition.parse(text);
    }

    /** The sampling ratio of the outbound listener's tracing, as applied. */
    static double sampling(MeshSidecar s) {
        return s.sidecar().config().listeners().stream().filter(l -> l.name().equals("outbound")).findFirst()
                .flatMap(l -> l.telemetry().tracing()).map(t -> t.samplingRatio()).orElse(-1.0);
    }

    List<OtlpReceiver.Received> spans(String trace, int n) {
        await().atMost(Duration.ofSeconds(15)).until(() -> otlp.trace(trace).size() >= n);
        return otlp.trace(trace);
    }

    static OtlpReceiver.Received one(List<OtlpReceiver.Received> spans, String service, Span.SpanKind kind) {
        List<OtlpReceiver.Received> m = spans.stream().filter(s -> s.service().equals(service) && s.kind() == kind).toList();
        assertThat(m).as("%s %s in %s", service, kind, spans).hasSize(1);
        return m.get(0);
    }

    /** The access log's lines once {@code n} of them carry {@code trace} (all lines when {@code trace} is null). */
    static List<JsonNode> lines(Path log, String trace, int n) throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log) && parse(log).stream()
                .filter(l -> trace == null || l.get("trace_id").asText().equals(trace)).count() >= n);
        return parse(log).stream().filter(l -> trace == null || l.get("trace_id").asText().equals(trace)).toList();
    }

    static List<JsonNode> parse(Path log) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(log)) {
            if (!l.isBlank()) {
                out.add(Mesh.json.readTree(l));
            }
        }
        return out;
    }
}
