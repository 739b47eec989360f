package dev.trellis.sidecar.router;

import dev.trellis.sidecar.cluster.Hashing;
import dev.trellis.sidecar.config.HashPolicy;
import io.netty.handler.codec.http2.Http2Headers;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.OptionalLong;

/**
 * A request's hash from a route's {@code hash_policy}, as Envoy combines it: each policy that
 * yields a value folds it in (rotate left by one, then xor); a terminal policy that yielded ends
 * the walk. No value at all means no hash (the balancer picks at random).
 */
final class RequestHash {
    private RequestHash() {}

    static OptionalLong compute(List<HashPolicy> policies, Http2Headers h, InetSocketAddress remote) {
        if (policies.isEmpty()) {
            return OptionalLong.empty();
        }
        boolean any = false;
        long hash = 0;
        for (HashPolicy p : policies) {
            String v = switch (p.kind()) {
                case HEADER -> {
                    List<CharSequence> all = h.getAll(p.name());
                    yield all.isEmpty() ? null : String.join(",", all);
                }
                case COOKIE -> cookie(h, p.name());
                case SOURCE_IP -> remote == null || remote.getAddress() == null ? null : remote.getAddress().getHostAddress();
            };
            if (v == null) {
                continue;
            }
            long x = Hashing.hash64(v);
            hash = any ? Long.rotateLeft(hash, 1) ^ x : x;
            any = true;
            if (p.terminal()) {
                break;
            }
        }
        return any ? OptionalLong.of(hash) : OptionalLong.empty();
    }

    static String cookie(Http2Headers h, String name) {
        for (CharSequence header : h.getAll("cookie")) {
            for (String part : header.toString().split(";")) {
                String c = part.trim();
                int eq = c.indexOf('=');
                if (eq > 0 && c.substring(0, eq).equals(name)) {
                    String v = c.substring(eq + 1);
                    return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
                }
            }
        }
        return null;
    }
}
