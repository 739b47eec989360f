package dev.trellis.sidecar.observe;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A call through two sidecars (A: outbound, exports over OTLP/gRPC; B: inbound, over OTLP/HTTP)
 * arrives at an in-process OTLP collector as one chain of four spans.
 */
class TracingTest {
    static final String OTEL = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig";
    static OtlpReceiver receiver;
    static Backend app;
    static Proxy a;
    static Proxy b;
    static int closed;
    static java.nio.file.Path bLog;
    static final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        receiver = new OtlpReceiver();
        app = new Backend("app");
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String bTracing = j("'tracing': {'provider': {'name': 'envoy.tracers.opentelemetry', 'typed_config': {'@type': '" + OTEL
                + "', 'service_name': 'server-svc', 'http_service': {'http_uri': {'uri': 'http://127.0.0.1:" + receiver.httpPort()
                + "/v1/traces', 'cluster': 'otel', 'timeout': '2s'}}}}}");
        bLog = java.nio.file.Files.createTempDirectory(java.nio.file.Files.createDirectories(java.nio.file.Path.of("target")),
                "tracing").resolve("b.log");
        b = Proxy.start(bootstrap(listener("in", bTracing + "," + AccessLogTest.accessLog(bLog), vhost(route("/", "app")))
                .replaceFirst("\\{", "{\"traffic_direction\": \"INBOUND\","), cluster("app", "", app.port())));
        String aBootstrap = bootstrap(listener("out", j("'tracing': {'random_sampling': {'value': 100}}"),
                        vhost(route("/uf", "down"), route("/", "b"))).replaceFirst("\\{", "{\"traffic_direction\": \"OUTBOUND\","),
                cluster("b", "", b.port("in")) + "," + cluster("down", "", closed));
        a = Proxy.start(aBootstrap.replaceFirst("\\{", "{" + j("'tracing': {'http': {'name': 'envoy.tracers.opentelemetry', "
                + "'typed_config': {'@type': '" + OTEL + "', 'service_name': 'client-svc', 'grpc_service': {'google_grpc': "
                + "{'target_uri': '127.0.0.1:" + receiver.grpcPort() + "', 'stat_prefix': 'otel'}}}}}") + ","));
    }

    @AfterAll
    static void stop() {
        a.close();
        b.close();
        app.close();
        receiver.close();
    }

    static Map<String, String> call(String path, String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(a.uri("out", path));
        for (int i = 0; i < headers.length; i += 2) {
            r.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> resp = client.send(r.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(resp.statusCode()).isEqualTo(200);
        return Backend.echoedHeaders(resp.body());
    }

    static List<OtlpReceiver.Received> chain(String traceId, int n) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> receiver.trace(traceId).size() >= n);
        return receiver.trace(traceId);
    }

    static OtlpReceiver.Received one(List<OtlpReceiver.Received> spans, String service, Span.SpanKind kind) {
        List<OtlpReceiver.Received> m = spans.stream().filter(s -> s.service().equals(service) && s.kind() == kind).toList();
        assertThat(m).as("%s %s in %s", service, kind, spans).hasSize(1);
        return m.get(0);
    }

    /** Checks the four spans of one call; returns A's server span. */
    static OtlpReceiver.Received checkChain(String traceId, String parent, Map<String, String> seenByApp) {
        List<OtlpReceiver.Received> spans = chain(traceId, 4);
        assertThat(spans).hasSize(4);
        OtlpReceiver.Received aServer = one(spans, "client-svc", Span.SpanKind.SPAN_KIND_SERVER);
        OtlpReceiver.Received aClient = one(spans, "client-svc", Span.SpanKind.SPAN_KIND_CLIENT);
        OtlpReceiver.Received bServer = one(spans, "server-svc", Span.SpanKind.SPAN_KIND_SERVER);
        OtlpReceiver.Received bClient = one(spans, "server-svc", Span.SpanKind.SPAN_KIND_CLIENT);
        assertThat(aServer.parentSpanId()).isEqualTo(parent);
        assertThat(aClient.parentSpanId()).isEqualTo(aServer.spanId());
        assertThat(bServer.parentSpanId()).isEqualTo(aClient.spanId());
        assertThat(bClient.parentSpanId()).isEqualTo(bServer.spanId());
        // what the app behind B received names B's client span, in both formats
        assertThat(seenByApp.get("traceparent")).isEqualTo("00-" + traceId + "-" + bClient.spanId() + "-01");
        assertThat(seenByApp.get("b3")).isEqualTo(traceId + "-" + bClient.spanId() + "-1");
        assertThat(seenByApp.get("x-b3-traceid")).isEqualTo(traceId);
        assertThat(seenByApp.get("x-b3-spanid")).isEqualTo(bClient.spanId());
        assertThat(seenByApp.get("x-b3-sampled")).isEqualTo("1");

        assertThat(aServer.attributes()).containsEntry("http.request.method", "GET")
                .containsEntry("url.path", "/echo").containsEntry("server.address", "127.0.0.1")
                .containsEntry("network.protocol.version", "1.1").containsEntry("http.response.status_code", "200")
                .containsEntry("trellis.response_flags", "-")
                .containsEntry("trellis.upstream.host", "127.0.0.1:" + b.port("in"));
        assertThat(aClient.attributes()).containsEntry("http.request.method", "GET").containsEntry("url.path", "/echo")
                .containsEntry("server.address", "127.0.0.1").containsEntry("server.port", Integer.toString(b.port("in")))
                .containsEntry("http.response.status_code", "200").containsEntry("trellis.upstream.host", "127.0.0.1:" + b.port("in"))
                .containsEntry("trellis.response_flags", "-");
        assertThat(bServer.attributes()).containsEntry("http.response.status_code", "200")
                .containsEntry("trellis.upstream.host", "127.0.0.1:" + app.port());
        assertThat(bClient.attributes()).containsEntry("server.port", Integer.toString(app.port()));
        return aServer;
    }

    @Test
    void w3cTraceContextChainsAcrossTwoSidecars() throws Exception {
        String trace = "4bf92f3577b34da6a3ce929d0e0e4736";
        Map<String, String> seen = call("/echo", "traceparent", "00-" + trace + "-00f067aa0ba902b7-01");
        OtlpReceiver.Received aServer = checkChain(trace, "00f067aa0ba902b7", seen);
        OtlpReceiver.Received bServer = one(receiver.trace(trace), "server-svc", Span.SpanKind.SPAN_KIND_SERVER);
        // B's access log line carries the trace and B's server span
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> java.nio.file.Files.readString(bLog).contains(trace));
        var line = java.nio.file.Files.readAllLines(bLog).stream().map(l -> {
            try {
                return AccessLogTest.JSON.readTree(l);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).filter(n -> n.get("trace_id").asText().equals(trace)).findFirst().orElseThrow();
        assertThat(line.get("span_id").asText()).isEqualTo(bServer.spanId()).isNotEqualTo(aServer.spanId());
    }

    @Test
    void b3MultiHeadersChainAcrossTwoSidecars() throws Exception {
        String trace = "463ac35c9f6413ad48485a3953bb6124";
        Map<String, String> seen = call("/echo", "X-B3-TraceId", trace, "X-B3-SpanId", "a2fb4a1d1a96d312", "X-B3-Sampled", "1");
        checkChain(trace, "a2fb4a1d1a96d312", seen);
    }

    @Test
    void b3SingleHeaderChainsAcrossTwoSidecars() throws Exception {
        String trace = "80f198ee56343ba864fe8b2a57d3eff7";
        Map<String, String> seen = call("/echo", "b3", trace + "-e457b5a2e4d86bd1-1");
        checkChain(trace, "e457b5a2e4d86bd1", seen);
    }

    @Test
    void aRequestWithoutContextStartsATrace() throws Exception {
        Map<String, String> seen = call("/echo");
        String trace = seen.get("x-b3-traceid");
        assertThat(trace).hasSize(32);
        checkChain(trace, "", seen);
    }

    @Test
    void aFailedAttemptIsAnErrorClientSpanWithItsFlag() throws Exception {
        String trace = "11112222333344445555666677778888";
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(a.uri("out", "/uf"))
                .header("traceparent", "00-" + trace + "-1234567890abcdef-01").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(503);
        List<OtlpReceiver.Received> spans = chain(trace, 2);
        OtlpReceiver.Received server = one(spans, "client-svc", Span.SpanKind.SPAN_KIND_SERVER);
        OtlpReceiver.Received attempt = one(spans, "client-svc", Span.SpanKind.SPAN_KIND_CLIENT);
        assertThat(server.attributes()).containsEntry("http.response.status_code", "503").containsEntry("trellis.response_flags", "UF");
        assertThat(attempt.attributes()).containsEntry("trellis.response_flags", "UF")
                .containsEntry("trellis.upstream.host", "127.0.0.1:" + closed).doesNotContainKey("http.response.status_code");
        assertThat(attempt.parentSpanId()).isEqualTo(server.spanId());
    }
}
