package dev.trellis.sidecar.error;

import java.util.Set;
import java.util.stream.Collectors;

/** Envoy's response flags: why a request did not get an ordinary upstream answer. */
public enum ResponseFlag {
    /** Upstream connection failure (refused, connect timeout, TLS handshake). */
    UF(503, 14),
    /** No healthy upstream host. */
    UH(503, 14),
    /** Upstream connection terminated (reset before the response). */
    UC(503, 14),
    /** Upstream request timeout. */
    UT(504, 4),
    /** No route configured. */
    NR(404, 12),
    /** Upstream overflow (circuit breaking). */
    UO(503, 14),
    /** Upstream retry limit exceeded. */
    URX(503, 14),
    /** Downstream connection termination. */
    DC(0, 1),
    /** Upstream protocol error. */
    UPE(502, 13),
    /** Local reset after the response started (downstream reset by the proxy). */
    LR(0, 2),
    /** Cluster named by the route not found. */
    NC(503, 14),
    /** Denied by an RBAC filter (authorization). */
    RBAC(403, 7),
    /** Stream idle timeout: nothing moved either way for {@code stream_idle_timeout}. */
    SI(408, 4),
    /** Rate limited locally (Envoy's {@code RL}); gRPC gets UNAVAILABLE as in Envoy. */
    RL(429, 14),
    /** Aborted by fault injection (Envoy's {@code FI}); the fault's own status is sent. */
    FI(503, 14),
    /** Delayed by fault injection (Envoy's {@code DI}); the request then goes on. */
    DI(0, 0);

    private final int httpStatus;
    private final int grpcStatus;

    ResponseFlag(int httpStatus, int grpcStatus) {
        this.httpStatus = httpStatus;
        this.grpcStatus = grpcStatus;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public int grpcStatus() {
        return grpcStatus;
    }

    /** Envoy's rendering: flags joined by commas, {@code -} when none. */
    public static String render(Set<ResponseFlag> flags) {
        return flags.isEmpty() ? "-" : flags.stream().map(Enum::name).collect(Collectors.joining(","));
    }
}
