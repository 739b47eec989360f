package dev.trellis.sidecar.router;

import dev.trellis.sidecar.config.RetryPolicy;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.function.LongUnaryOperator;

/**
 * The retry decisions of one request under a {@link RetryPolicy}: which outcomes are retriable,
 * how many retries are left, and Envoy's fully jittered exponential back-off (the n-th retry
 * waits a random time below {@code min(base x 2^(n-1), max)}). The random source is injected.
 */
final class RetryState {
    /** How an attempt ended before its response was passed on. */
    enum Outcome { CONNECT_FAILURE, RESET, REFUSED_STREAM, PER_TRY_TIMEOUT }

    private final RetryPolicy policy;
    /** {@code bound -> value in [0, bound)}. */
    private final LongUnaryOperator random;
    private int retriesDone;
    private long nextIntervalNanos;

    RetryState(RetryPolicy policy, LongUnaryOperator random) {
        this.policy = policy;
        this.random = random;
        this.nextIntervalNanos = policy.backoffBase().toNanos();
    }

    RetryPolicy policy() {
        return policy;
    }

    boolean retriesLeft() {
        return retriesDone < policy.numRetries();
    }

    int retriesDone() {
        return retriesDone;
    }

    /** Counts a retry and returns its back-off in nanoseconds. */
    long nextBackoffNanos() {
        retriesDone++;
        long bound = nextIntervalNanos;
        long max = policy.backoffMax().toNanos();
        nextIntervalNanos = nextIntervalNanos < max / 2 ? nextIntervalNanos * 2 : max;
        return Math.min(random.applyAsLong(bound), max);
    }

    /** True when the policy retries this failure (5xx and gateway-error include resets and connect failures, as in Envoy). */
    boolean retriable(Outcome o) {
        RetryPolicy p = policy;
        boolean broad = p.on("5xx") || p.on("gateway-error");
        return switch (o) {
            case CONNECT_FAILURE -> broad || p.on("connect-failure") || p.on("reset");
            case RESET -> broad || p.on("reset");
            case REFUSED_STREAM -> broad || p.on("reset") || p.on("refused-stream");
            case PER_TRY_TIMEOUT -> broad || p.on("reset");
        };
    }

    /** True when the policy retries this response (status, or a gRPC status in trailers-only headers). */
    boolean retriable(Http2Headers h) {
        RetryPolicy p = policy;
        int status = status(h);
        if (p.on("5xx") && status >= 500 && status <= 599) {
            return true;
        }
        if (p.on("gateway-error") && status >= 502 && status <= 504) {
            return true;
        }
        if (p.on("retriable-4xx") && status == 409) {
            return true;
        }
        if (p.on("retriable-status-codes") && p.retriableStatusCodes().contains(status)) {
            return true;
        }
        CharSequence gs = h.get("grpc-status");
        if (gs != null) {
            String name = switch (gs.toString()) {
                case "1" -> "cancelled";
                case "4" -> "deadline-exceeded";
                case "8" -> "resource-exhausted";
                case "13" -> "internal";
                case "14" -> "unavailable";
                default -> null;
            };
            return name != null && p.on(name);
        }
        return false;
    }

    static int status(Http2Headers h) {
        CharSequence s = h.status();
        if (s == null) {
            return 0;
        }
        try {
            return Integer.parseInt(s.toString());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
