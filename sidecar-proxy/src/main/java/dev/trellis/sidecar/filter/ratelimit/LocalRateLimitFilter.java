package dev.trellis.sidecar.filter.ratelimit;

import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.filter.HttpFilter;
import dev.trellis.sidecar.router.RouteMatcher;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Local rate limiting: the route's override ({@code typed_per_filter_config}) or the filter's own
 * bucket config decides; a refused request gets 429 through the {@link ErrorResponder} with
 * {@code retry-after}, {@code x-ratelimit-limit} and {@code x-ratelimit-remaining}.
 */
public final class LocalRateLimitFilter implements HttpFilter {
    private final Shared shared;
    private TokenBuckets.Decision decision;
    private long limit;

    private LocalRateLimitFilter(Shared shared) {
        this.shared = shared;
    }

    private record Shared(LocalRateLimitConfig config, TokenBuckets base, Map<LocalRateLimitConfig, TokenBuckets> perRoute) {}

    /** A factory with one bucket table for the filter and one per route override in {@code routes}. */
    public static FilterFactory factory(LocalRateLimitConfig c, RouteTable routes, LongSupplier nanoTime) {
        Map<LocalRateLimitConfig, TokenBuckets> per = new IdentityHashMap<>();
        for (RouteTable.VirtualHost vh : routes.virtualHosts()) {
            for (RouteTable.Route r : vh.routes()) {
                if (r.filterConfig(c.name()) instanceof LocalRateLimitConfig rc && !rc.disabled()) {
                    per.put(rc, new TokenBuckets(rc, nanoTime));
                }
            }
        }
        Shared s = new Shared(c, c.disabled() ? null : new TokenBuckets(c, nanoTime), per);
        return () -> new LocalRateLimitFilter(s);
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers h, Context ctx) {
        LocalRateLimitConfig c = shared.config();
        TokenBuckets buckets = shared.base();
        RouteMatcher.Match m = ctx.route();
        HttpFilterConfig per = m == null ? null : m.route().filterConfig(c.name());
        if (per instanceof LocalRateLimitConfig rc) {
            c = rc;
            buckets = rc.disabled() ? null : shared.perRoute().get(rc);
        }
        if (buckets == null) {
            return null;
        }
        String key = "";
        if (c.key() instanceof LocalRateLimitConfig.ClientAddress) {
            key = ctx.clientAddress();
        } else if (c.key() instanceof LocalRateLimitConfig.Header hd) {
            CharSequence v = h.get(hd.name());
            key = v == null ? "" : v.toString();
        }
        TokenBuckets.Decision d = buckets.tryAcquire(key);
        if (!d.allowed()) {
            long seconds = (d.retryAfterNanos() + 999_999_999L) / 1_000_000_000L;
            return ErrorResponder.rateLimited(buckets.limit(), 0, seconds, ctx.info().grpc(), ctx.info());
        }
        if (c.responseHeaders()) {
            decision = d;
            limit = buckets.limit();
        }
        return null;
    }

    @Override
    public void onResponseHeaders(Http2Headers headers, Context context) {
        if (decision != null) {
            headers.set("x-ratelimit-limit", Long.toString(limit));
            headers.set("x-ratelimit-remaining", Long.toString(decision.remaining()));
        }
    }
}
