package dev.trellis.sidecar.observe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.admin.SidecarMetrics;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.error.UpstreamAttemptObserver;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Sampling, propagation and span shape through the observer hooks, without sockets. */
class TracingUnitTest {
    static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
    static final String PARENT = "b7ad6b7169203331";
    InMemorySpanExporter exporter;
    Tracing tracing;

    @AfterEach
    void close() {
        tracing.close();
    }

    /** One request through the hooks: returns the headers sent upstream (two attempts, the first failing). */
    Http2Headers request(double ratio, Http2Headers in) {
        exporter = InMemorySpanExporter.create();
        tracing = Tracing.create(exporter, ratio, "svc");
        ListenerTelemetry t = new ListenerTelemetry(new SidecarMetrics(), "source", "svc", List.of(), tracing,
                Clock.systemUTC());
        StreamInfo info = new StreamInfo(1);
        info.request("GET", "/a/b?c=d", "users.mesh:8080");
        info.protocol("HTTP/2");
        info.cluster("users");
        info.route("users/default");
        t.onRequestHeaders(info, in);
        Http2Headers up = new DefaultHttp2Headers().method("GET").path("/a/b?c=d").authority("users");
        up.set("x-b3-parentspanid", "1111111111111111");
        info.attempt();
        UpstreamAttemptObserver first = t.onUpstreamAttempt(info, "10.0.0.1:80", up);
        first.onEnd(0, ResponseFlag.UC);
        info.attempt();
        UpstreamAttemptObserver second = t.onUpstreamAttempt(info, "10.0.0.2:80", up);
        second.onEnd(200, null);
        info.responseCode(200);
        info.end(2_000_000);
        t.onComplete(info);
        tracing.flush(Duration.ofSeconds(5));
        assertThat(info.traceId()).hasSize(32);
        return up;
    }

    @Test
    void w3cParentIsFollowedAndEachAttemptIsASiblingClientSpan() {
        Http2Headers up = request(0.0, new DefaultHttp2Headers().add("traceparent", "00-" + TRACE + "-" + PARENT + "-01"));
        List<SpanData> spans = exporter.getFinishedSpanItems();
        assertThat(spans).hasSize(3).allSatisfy(s -> assertThat(s.getTraceId()).isEqualTo(TRACE));
        SpanData server = spans.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
        List<SpanData> clients = spans.stream().filter(s -> s.getKind() == SpanKind.CLIENT).toList();
        assertThat(server.getParentSpanId()).isEqualTo(PARENT);
        assertThat(server.getName()).isEqualTo("GET users/default");
        assertThat(server.getAttributes().get(Tracing.URL_PATH)).isEqualTo("/a/b");
        assertThat(server.getAttributes().get(Tracing.SERVER_ADDRESS)).isEqualTo("users.mesh");
        assertThat(server.getAttributes().get(Tracing.PROTOCOL_VERSION)).isEqualTo("2");
        assertThat(server.getAttributes().get(Tracing.STATUS)).isEqualTo(200L);
        assertThat(clients).hasSize(2).allSatisfy(c -> assertThat(c.getParentSpanId()).isEqualTo(server.getSpanId()));
        assertThat(clients.get(0).getAttributes().get(Tracing.FLAGS)).isEqualTo("UC");
        assertThat(clients.get(0).getAttributes().get(Tracing.UPSTREAM_HOST)).isEqualTo("10.0.0.1:80");
        assertThat(clients.get(1).getAttributes().get(Tracing.STATUS)).isEqualTo(200L);
        assertThat(clients.get(1).getAttributes().get(Tracing.SERVER_PORT)).isEqualTo(80L);
        String last = clients.get(1).getSpanId();
        assertThat(up.get("traceparent").toString()).isEqualTo("00-" + TRACE + "-" + last + "-01");
        assertThat(up.get("b3").toString()).isEqualTo(TRACE + "-" + last + "-1");
        assertThat(up.get("x-b3-traceid").toString()).isEqualTo(TRACE);
        assertThat(up.get("x-b3-spanid").toString()).isEqualTo(last);
        assertThat(up.get("x-b3-sampled").toString()).isEqualTo("1");
        assertThat(up.contains("x-b3-parentspanid")).as("stale B3 header removed").isFalse();
    }

    @Test
    void b3SingleAndMultiParentsAreFollowed() {
        request(0.0, new DefaultHttp2Headers().add("b3", TRACE + "-" + PARENT + "-1"));
        SpanData server = exporter.getFinishedSpanItems().stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
        assertThat(server.getTraceId()).isEqualTo(TRACE);
        assertThat(server.getParentSpanId()).isEqualTo(PARENT);
        tracing.close();
        request(0.0, new DefaultHttp2Headers().add("x-b3-traceid", TRACE).add("x-b3-spanid", PARENT).add("x-b3-sampled", "1"));
        server = exporter.getFinishedSpanItems().stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
        assertThat(server.getTraceId()).isEqualTo(TRACE);
        assertThat(server.getParentSpanId()).isEqualTo(PARENT);
    }

    @Test
    void newTracesFollowTheRatioAndAnUnsampledDecisionIsPropagated() {
        Http2Headers up = request(0.0, new DefaultHttp2Headers());
        assertThat(exporter.getFinishedSpanItems()).isEmpty();
        String flags = up.get("traceparent").toString().substring(53);
        assertThat(Integer.parseInt(flags, 16) & 1).as("sampled bit of %s", up.get("traceparent")).isZero();
        assertThat(up.get("x-b3-sampled").toString()).isEqualTo("0");
        tracing.close();
        request(1.0, new DefaultHttp2Headers());
        List<SpanData> spans = exporter.getFinishedSpanItems();
        assertThat(spans).hasSize(3);
        assertThat(spans.stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow().getParentSpanId())
                .isEqualTo("0000000000000000");
    }

    @Test
    void aCallersUnsampledDecisionWinsOverTheRatio() {
        request(1.0, new DefaultHttp2Headers().add("traceparent", "00-" + TRACE + "-" + PARENT + "-00"));
        assertThat(exporter.getFinishedSpanItems()).isEmpty();
    }
}
