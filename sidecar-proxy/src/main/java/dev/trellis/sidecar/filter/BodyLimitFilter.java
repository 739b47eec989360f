package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.router.RouteMatcher;
import io.netty.handler.codec.http2.Http2Headers;

/** Ends requests whose body exceeds the limit with 413 (see {@link BodyLimitConfig}). */
public final class BodyLimitFilter implements HttpFilter {
    private final BodyLimitConfig config;
    private long limit;
    private long seen;

    private BodyLimitFilter(BodyLimitConfig config) {
        this.config = config;
    }

    public static FilterFactory factory(BodyLimitConfig c) {
        return () -> new BodyLimitFilter(c);
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers h, Context ctx) {
        limit = config.maxRequestBytes();
        RouteMatcher.Match m = ctx.route();
        HttpFilterConfig per = m == null ? null : m.route().filterConfig(config.name());
        if (per instanceof BodyLimitConfig b) {
            limit = b.maxRequestBytes();
        }
        if (limit <= 0) {
            return null;
        }
        CharSequence cl = h.get("content-length");
        if (cl != null) {
            try {
                if (Long.parseLong(cl.toString().trim()) > limit) {
                    return ErrorResponder.payloadTooLarge(limit, ctx.info());
                }
            } catch (NumberFormatException e) {
                // the codec has refused a malformed content-length already
            }
        }
        return null;
    }

    @Override
    public ErrorResponder.LocalReply onRequestData(int bytes, boolean endStream, Context ctx) {
        if (limit <= 0) {
            return null;
        }
        seen += bytes;
        return seen > limit ? ErrorResponder.payloadTooLarge(limit, ctx.info()) : null;
    }
}
