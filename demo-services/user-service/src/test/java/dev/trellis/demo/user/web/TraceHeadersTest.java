package dev.trellis.demo.user.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TraceHeadersTest {

    @Test
    void readsW3cTraceparentAndKeepsTracestate() {
        Map<String, String> in = Map.of("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "tracestate", "congo=t61rcWkgMzE", "x-request-id", "req-1", "cookie", "secret");
        TraceHeaders trace = TraceHeaders.from(in::get);
        assertThat(trace.traceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
        assertThat(trace.requestId()).isEqualTo("req-1");
        assertThat(trace.values()).containsOnlyKeys("traceparent", "tracestate", "x-request-id");
    }

    @Test
    void readsB3SingleAndMulti() {
        assertThat(TraceHeaders.from(Map.of("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1")::get).traceId())
                .isEqualTo("80f198ee56343ba864fe8b2a57d3eff7");
        TraceHeaders multi = TraceHeaders.from(Map.of("x-b3-traceid", "463ac35c9f6413ad", "x-b3-spanid", "a2fb4a1d1a96d312",
                "x-b3-sampled", "1")::get);
        assertThat(multi.traceId()).isEqualTo("463ac35c9f6413ad");
        assertThat(multi.values()).containsKeys("x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-request-id");
    }

    @Test
    void inventsARequestIdOnlyWhenMissingAndIgnoresInvalidTraceIds() {
        TraceHeaders trace = TraceHeaders.from(Map.of("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")::get);
        assertThat(trace.requestId()).hasSize(36);
        assertThat(trace.traceId()).isNull();
        assertThat(TraceHeaders.from(Map.of("b3", "not-hex")::get).traceId()).isNull();
    }

    @Test
    void storedHeadersKeepOnlyPropagatedNames() {
        TraceHeaders stored = TraceHeaders.of(Map.of("X-Request-Id", "r", "B3", "1", "authorization", "Bearer x"));
        assertThat(stored.values()).containsOnly(Map.entry("x-request-id", "r"), Map.entry("b3", "1"));
    }
}
