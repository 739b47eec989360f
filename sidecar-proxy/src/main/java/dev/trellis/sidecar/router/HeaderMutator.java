package dev.trellis.sidecar.router;

import dev.trellis.sidecar.config.HeaderMutation;
import io.netty.handler.codec.http2.Http2Headers;

/** Applies a {@link HeaderMutation}: removals first, then additions with their append action. */
public final class HeaderMutator {
    private HeaderMutator() {}

    public static void apply(HeaderMutation m, Http2Headers h) {
        if (m.isEmpty()) {
            return;
        }
        for (String r : m.remove()) {
            h.remove(r);
        }
        for (HeaderMutation.HeaderToAdd a : m.add()) {
            if (a.value().isEmpty() && !a.keepEmptyValue()) {
                continue;
            }
            switch (a.action()) {
                case APPEND_IF_EXISTS_OR_ADD -> h.add(a.name(), a.value());
                case ADD_IF_ABSENT -> {
                    if (!h.contains(a.name())) {
                        h.add(a.name(), a.value());
                    }
                }
                case OVERWRITE_IF_EXISTS_OR_ADD -> h.set(a.name(), a.value());
                case OVERWRITE_IF_EXISTS -> {
                    if (h.contains(a.name())) {
                        h.set(a.name(), a.value());
                    }
                }
            }
        }
    }
}
