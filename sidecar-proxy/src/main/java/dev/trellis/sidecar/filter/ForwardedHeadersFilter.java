package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.error.ErrorResponder;
import io.netty.handler.codec.http2.Http2Headers;

/** Appends the client address to {@code x-forwarded-for} and sets {@code x-forwarded-proto}. */
public final class ForwardedHeadersFilter implements HttpFilter {
    private static final ForwardedHeadersFilter INSTANCE = new ForwardedHeadersFilter();

    public static FilterFactory factory() {
        return () -> INSTANCE;
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers h, Context ctx) {
        String client = ctx.remoteAddress() == null || ctx.remoteAddress().getAddress() == null ? null
                : ctx.remoteAddress().getAddress().getHostAddress();
        if (client != null) {
            CharSequence prior = h.get("x-forwarded-for");
            h.set("x-forwarded-for", prior == null || prior.length() == 0 ? client : prior + ", " + client);
        }
        h.set("x-forwarded-proto", ctx.scheme());
        return null;
    }
}
