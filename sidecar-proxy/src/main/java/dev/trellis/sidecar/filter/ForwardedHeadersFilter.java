package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.error.ErrorResponder;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.ArrayList;
import java.util.List;

/**
 * Appends the peer address to {@code x-forwarded-for}, sets {@code x-forwarded-proto}, and records
 * the trusted client address: with {@code xff_num_trusted_hops} N > 0 it is the N-th address from
 * the right of the {@code x-forwarded-for} that arrived (the peer and N-1 proxies in front are
 * trusted), as Envoy does with {@code use_remote_address}. With fewer entries the leftmost one is used.
 */
public final class ForwardedHeadersFilter implements HttpFilter {
    private static final ForwardedHeadersFilter NO_TRUSTED_HOPS = new ForwardedHeadersFilter(0);
    private final int trustedHops;

    private ForwardedHeadersFilter(int trustedHops) {
        this.trustedHops = trustedHops;
    }

    public static FilterFactory factory() {
        return () -> NO_TRUSTED_HOPS;
    }

    public static FilterFactory factory(int xffNumTrustedHops) {
        ForwardedHeadersFilter f = xffNumTrustedHops == 0 ? NO_TRUSTED_HOPS : new ForwardedHeadersFilter(xffNumTrustedHops);
        return () -> f;
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers h, Context ctx) {
        String peer = ctx.remoteAddress() == null || ctx.remoteAddress().getAddress() == null ? null
                : ctx.remoteAddress().getAddress().getHostAddress();
        CharSequence prior = h.get("x-forwarded-for");
        String client = peer;
        if (trustedHops > 0 && prior != null && prior.length() > 0) {
            List<String> hops = parse(prior.toString());
            if (!hops.isEmpty()) {
                client = hops.get(Math.max(0, hops.size() - trustedHops));
            }
        }
        if (client != null) {
            ctx.info().clientAddress(client);
        }
        if (peer != null) {
            h.set("x-forwarded-for", prior == null || prior.length() == 0 ? peer : prior + ", " + peer);
        }
        h.set("x-forwarded-proto", ctx.scheme());
        return null;
    }

    static List<String> parse(String xff) {
        List<String> out = new ArrayList<>();
        for (String part : xff.split(",")) {
            String p = part.trim();
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }
}
