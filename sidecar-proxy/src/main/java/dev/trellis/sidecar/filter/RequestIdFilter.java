package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.error.ErrorResponder;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Keeps a client's {@code x-request-id} or makes a UUID one, and records it. */
public final class RequestIdFilter implements HttpFilter {
    public static final String HEADER = "x-request-id";
    private final boolean generate;

    private RequestIdFilter(boolean generate) {
        this.generate = generate;
    }

    public static FilterFactory factory(boolean generate) {
        RequestIdFilter shared = new RequestIdFilter(generate);
        return () -> shared;
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers h, Context ctx) {
        CharSequence id = h.get(HEADER);
        if ((id == null || id.length() == 0) && generate) {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            id = new UUID((r.nextLong() & ~0xF000L) | 0x4000L, (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L).toString();
            h.set(HEADER, id);
        }
        if (id != null) {
            ctx.info().requestId(id.toString());
        }
        return null;
    }

    @Override
    public void onResponseHeaders(Http2Headers headers, Context ctx) {
        // Envoy does not echo the id by default; neither do we.
    }
}
