package dev.trellis.sidecar.filter.cors;

import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.filter.HttpFilter;
import dev.trellis.sidecar.router.RouteMatcher;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * CORS ({@code envoy.filters.http.cors}): answers preflights ({@code OPTIONS} with {@code origin} and
 * {@code access-control-request-method}) from allowed origins with 200 and the policy's headers, and
 * adds {@code access-control-allow-origin} (and friends) to responses of allowed cross-origin requests.
 */
public final class CorsFilter implements HttpFilter {
    private final String name;
    private CorsConfig.Policy policy;
    private String origin;

    private CorsFilter(String name) {
        this.name = name;
    }

    public static FilterFactory factory(CorsConfig.Filter f) {
        return () -> new CorsFilter(f.name());
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers h, Context ctx) {
        CharSequence o = h.get("origin");
        if (o == null || o.length() == 0) {
            return null;
        }
        RouteMatcher.Match m = ctx.route();
        HttpFilterConfig c = m == null ? null : m.route().filterConfig(name);
        if (!(c instanceof CorsConfig.Policy p)) {
            return null;
        }
        boolean preflight = "OPTIONS".contentEquals(h.method()) && h.contains("access-control-request-method");
        if (!p.allows(o.toString())) {
            if (preflight && !p.forwardNotMatchingPreflights()) {
                return ErrorResponder.plain(403, "CORS origin not allowed\n", ctx.info());
            }
            return null;
        }
        if (preflight) {
            ErrorResponder.LocalReply r = ErrorResponder.plain(200, null, ctx.info());
            Http2Headers out = r.headers();
            out.set("access-control-allow-origin", o);
            if (!p.allowMethods().isEmpty()) {
                out.set("access-control-allow-methods", p.allowMethods());
            }
            if (!p.allowHeaders().isEmpty()) {
                out.set("access-control-allow-headers", p.allowHeaders());
            }
            p.maxAge().ifPresent(a -> out.set("access-control-max-age", a));
            if (p.allowCredentials()) {
                out.set("access-control-allow-credentials", "true");
            }
            out.set("vary", "origin");
            return r;
        }
        policy = p;
        origin = o.toString();
        return null;
    }

    @Override
    public void onResponseHeaders(Http2Headers h, Context ctx) {
        if (policy == null) {
            return;
        }
        h.set("access-control-allow-origin", origin);
        if (policy.allowCredentials()) {
            h.set("access-control-allow-credentials", "true");
        }
        if (!policy.exposeHeaders().isEmpty()) {
            h.set("access-control-expose-headers", policy.exposeHeaders());
        }
        CharSequence vary = h.get("vary");
        if (vary == null) {
            h.set("vary", "origin");
        } else if (!vary.toString().toLowerCase(java.util.Locale.ROOT).contains("origin")) {
            h.set("vary", vary + ", origin");
        }
    }
}
