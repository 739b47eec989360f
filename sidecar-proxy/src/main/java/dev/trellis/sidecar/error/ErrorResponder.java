package dev.trellis.sidecar.error;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.nio.charset.StandardCharsets;

/**
 * The one place where a failure becomes a response: HTTP status, {@code x-trellis-response-flags},
 * and for gRPC a trailers-only response with {@code grpc-status} and {@code grpc-message}.
 */
public final class ErrorResponder {
    public static final String FLAGS_HEADER = "x-trellis-response-flags";

    private ErrorResponder() {}

    /** A local response: headers, and an optional body ({@code null} for gRPC trailers-only). */
    public record LocalReply(Http2Headers headers, byte[] body) {
        public boolean endStreamWithHeaders() {
            return body == null || body.length == 0;
        }
    }

    /** Builds the reply for {@code flag}; {@code detail} explains it to the client. */
    public static LocalReply reply(ResponseFlag flag, String detail, boolean grpc, StreamInfo info) {
        info.addFlag(flag);
        info.detail(detail);
        Http2Headers h = new DefaultHttp2Headers();
        if (grpc) {
            h.status("200");
            h.set("content-type", "application/grpc");
            h.set("grpc-status", Integer.toString(flag.grpcStatus()));
            h.set("grpc-message", percentEncode(detail));
            h.set(FLAGS_HEADER, ResponseFlag.render(info.flags()));
            info.responseCode(200);
            return new LocalReply(h, null);
        }
        byte[] body = (detail + "\n").getBytes(StandardCharsets.UTF_8);
        h.status(Integer.toString(flag.httpStatus()));
        h.set("content-type", "text/plain; charset=utf-8");
        h.setInt("content-length", body.length);
        h.set(FLAGS_HEADER, ResponseFlag.render(info.flags()));
        info.responseCode(flag.httpStatus());
        return new LocalReply(h, body);
    }

    /**
     * A fault-injection abort ({@link ResponseFlag#FI}) with the fault's HTTP status; gRPC gets
     * {@code grpcStatus}, or when absent the status Envoy maps {@code httpStatus} to.
     */
    public static LocalReply faultAbort(int httpStatus, java.util.Optional<Integer> grpcStatus, boolean grpc, StreamInfo info) {
        // a grpc_status fault answers gRPC-style whatever the request
        boolean asGrpc = grpc || grpcStatus.isPresent();
        LocalReply r = reply(ResponseFlag.FI, "fault filter abort", asGrpc, info);
        if (asGrpc) {
            r.headers().set("grpc-status", Integer.toString(grpcStatus.orElseGet(() -> grpcFromHttp(httpStatus))));
            return r;
        }
        r.headers().status(Integer.toString(httpStatus));
        info.responseCode(httpStatus);
        return r;
    }

    /** Envoy's {@code Grpc::Utility::httpToGrpcStatus}. */
    static int grpcFromHttp(int status) {
        return switch (status) {
            case 400 -> 13;
            case 401 -> 16;
            case 403 -> 7;
            case 404 -> 12;
            case 429, 502, 503, 504 -> 14;
            default -> 2;
        };
    }

    /** A plain local reply that is not an upstream failure (400, 405, 431, direct responses). */
    public static LocalReply plain(int status, String body, StreamInfo info) {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        Http2Headers h = new DefaultHttp2Headers();
        h.status(Integer.toString(status));
        if (b.length > 0) {
            h.set("content-type", "text/plain; charset=utf-8");
        }
        h.setInt("content-length", b.length);
        info.responseCode(status);
        return new LocalReply(h, b);
    }

    /**
     * An authentication or authorization failure (401 or 403) with RFC 6750's
     * {@code WWW-Authenticate: Bearer error="...", error_description="..."}; gRPC gets
     * UNAUTHENTICATED or PERMISSION_DENIED.
     */
    public static LocalReply bearerChallenge(int status, String error, String description, boolean grpc, StreamInfo info) {
        info.detail(description);
        String challenge = "Bearer error=\"" + error + "\", error_description=\"" + quoted(description) + "\"";
        Http2Headers h = new DefaultHttp2Headers();
        h.set("www-authenticate", challenge);
        if (grpc) {
            h.status("200");
            h.set("content-type", "application/grpc");
            h.set("grpc-status", status == 401 ? "16" : "7");
            h.set("grpc-message", percentEncode(description));
            info.responseCode(200);
            return new LocalReply(h, null);
        }
        byte[] body = (description + "\n").getBytes(StandardCharsets.UTF_8);
        h.status(Integer.toString(status));
        h.set("content-type", "text/plain; charset=utf-8");
        h.setInt("content-length", body.length);
        info.responseCode(status);
        return new LocalReply(h, body);
    }

    /**
     * Rate limited ({@link ResponseFlag#RL}): 429 with {@code retry-after} (whole seconds, at least 1),
     * {@code x-ratelimit-limit} and {@code x-ratelimit-remaining}.
     */
    public static LocalReply rateLimited(long limit, long remaining, long retryAfterSeconds, boolean grpc, StreamInfo info) {
        LocalReply r = reply(ResponseFlag.RL, "local rate limit exceeded", grpc, info);
        r.headers().set("retry-after", Long.toString(Math.max(1, retryAfterSeconds)));
        r.headers().set("x-ratelimit-limit", Long.toString(limit));
        r.headers().set("x-ratelimit-remaining", Long.toString(remaining));
        return r;
    }

    /** The request body is larger than allowed: 413 (Envoy answers "Payload Too Large" the same way). */
    public static LocalReply payloadTooLarge(long limit, StreamInfo info) {
        info.detail("request body exceeds " + limit + " bytes");
        return plain(413, "request body too large (limit " + limit + " bytes)\n", info);
    }

    private static String quoted(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /** gRPC's percent-encoding of {@code grpc-message}. */
    static String percentEncode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                sb.append((char) c);
            } else {
                sb.append('%').append(String.format("%02X", c));
            }
        }
        return sb.toString();
    }
}
