package dev.trellis.sidecar.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.RetryPolicy;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RetryStateTest {
    static RetryPolicy policy(String... on) {
        return new RetryPolicy(Set.of(on), 4, Optional.empty(), Duration.ofMillis(25), Duration.ofMillis(250),
                Set.of(418), false, 1);
    }

    static Http2Headers status(int s) {
        return new DefaultHttp2Headers().status(Integer.toString(s));
    }

    @Test
    void backoffIsFullyJitteredBelowADoublingBoundCappedAtMax() {
        List<Long> bounds = new ArrayList<>();
        RetryState top = new RetryState(policy("5xx"), b -> {
            bounds.add(b);
            return b - 1;
        });
        List<Long> waits = new ArrayList<>();
        while (top.retriesLeft()) {
            waits.add(top.nextBackoffNanos() / 1_000_000);
        }
        assertThat(bounds).containsExactly(25_000_000L, 50_000_000L, 100_000_000L, 200_000_000L);
        assertThat(waits).containsExactly(24L, 49L, 99L, 199L);
        RetryState low = new RetryState(policy("5xx"), b -> 0);
        assertThat(low.nextBackoffNanos()).isZero();
        // beyond max the bound stays at max
        RetryPolicy many = new RetryPolicy(Set.of("5xx"), 10, Optional.empty(), Duration.ofMillis(25), Duration.ofMillis(250),
                Set.of(), false, 1);
        RetryState s = new RetryState(many, b -> b - 1);
        long last = 0;
        for (int i = 0; i < 10; i++) {
            last = s.nextBackoffNanos();
            assertThat(last).isLessThan(250_000_000L);
        }
        assertThat(last).isEqualTo(249_999_999L);
        assertThat(s.retriesLeft()).isFalse();
    }

    @Test
    void retriableOutcomesFollowEnvoysConditions() {
        RetryState r = new RetryState(policy("5xx"), b -> 0);
        assertThat(r.retriable(status(503))).isTrue();
        assertThat(r.retriable(status(500))).isTrue();
        assertThat(r.retriable(status(404))).isFalse();
        assertThat(r.retriable(RetryState.Outcome.CONNECT_FAILURE)).isTrue();
        assertThat(r.retriable(RetryState.Outcome.RESET)).isTrue();
        RetryState gw = new RetryState(policy("gateway-error"), b -> 0);
        assertThat(gw.retriable(status(500))).isFalse();
        assertThat(gw.retriable(status(502))).isTrue();
        RetryState cf = new RetryState(policy("connect-failure"), b -> 0);
        assertThat(cf.retriable(RetryState.Outcome.CONNECT_FAILURE)).isTrue();
        assertThat(cf.retriable(RetryState.Outcome.RESET)).isFalse();
        assertThat(cf.retriable(status(503))).isFalse();
        RetryState rs = new RetryState(policy("refused-stream"), b -> 0);
        assertThat(rs.retriable(RetryState.Outcome.REFUSED_STREAM)).isTrue();
        assertThat(rs.retriable(RetryState.Outcome.RESET)).isFalse();
        RetryState codes = new RetryState(policy("retriable-status-codes", "retriable-4xx"), b -> 0);
        assertThat(codes.retriable(status(418))).isTrue();
        assertThat(codes.retriable(status(409))).isTrue();
        assertThat(codes.retriable(status(503))).isFalse();
    }

    @Test
    void grpcStatusesInTrailersOnlyResponses() {
        RetryState r = new RetryState(policy("unavailable", "cancelled"), b -> 0);
        assertThat(r.retriable(status(200).set("grpc-status", "14"))).isTrue();
        assertThat(r.retriable(status(200).set("grpc-status", "1"))).isTrue();
        assertThat(r.retriable(status(200).set("grpc-status", "13"))).isFalse();
        assertThat(r.retriable(status(200).set("grpc-status", "0"))).isFalse();
        assertThat(new RetryState(policy("internal", "deadline-exceeded", "resource-exhausted"), b -> 0)
                .retriable(status(200).set("grpc-status", "8"))).isTrue();
    }

    @Test
    void grpcTimeoutParsesAndEncodes() {
        assertThat(GrpcTimeout.parse("200m")).isEqualTo(200_000_000L);
        assertThat(GrpcTimeout.parse("2S")).isEqualTo(2_000_000_000L);
        assertThat(GrpcTimeout.parse("1H")).isEqualTo(3_600_000_000_000L);
        assertThat(GrpcTimeout.parse("5u")).isEqualTo(5_000L);
        assertThat(GrpcTimeout.parse("123456789m")).isZero();
        assertThat(GrpcTimeout.parse("x")).isZero();
        assertThat(GrpcTimeout.parse("10q")).isZero();
        assertThat(GrpcTimeout.encode(150_000_000L)).isEqualTo("150m");
        assertThat(GrpcTimeout.encode(1L)).isEqualTo("1m");
        assertThat(GrpcTimeout.encode(Duration.ofDays(3).toNanos())).isEqualTo("259200S");
    }
}
