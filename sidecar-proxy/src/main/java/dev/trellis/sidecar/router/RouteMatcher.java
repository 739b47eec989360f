package dev.trellis.sidecar.router;

import dev.trellis.sidecar.config.RouteTable;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A route table compiled for lookup: virtual hosts by exact domain, then the longest
 * {@code *.suffix}, then the longest {@code prefix*}, then {@code *}; within a host, the first
 * route whose match holds.
 */
public final class RouteMatcher {
    private final RouteTable table;
    private final Map<String, RouteTable.VirtualHost> exact = new HashMap<>();
    private final List<Map.Entry<String, RouteTable.VirtualHost>> suffixes = new ArrayList<>();
    private final List<Map.Entry<String, RouteTable.VirtualHost>> prefixes = new ArrayList<>();
    private RouteTable.VirtualHost fallback;

    /** The matched virtual host and route. */
    public record Match(RouteTable.VirtualHost virtualHost, RouteTable.Route route) {}

    public RouteMatcher(RouteTable table) {
        this.table = table;
        for (RouteTable.VirtualHost vh : table.virtualHosts()) {
            for (String d : vh.domains()) {
                if (d.equals("*")) {
                    if (fallback == null) {
                        fallback = vh;
                    }
                } else if (d.startsWith("*")) {
                    suffixes.add(Map.entry(d.substring(1), vh));
                } else if (d.endsWith("*")) {
                    prefixes.add(Map.entry(d.substring(0, d.length() - 1), vh));
                } else {
                    exact.putIfAbsent(d, vh);
                }
            }
        }
        Comparator<Map.Entry<String, RouteTable.VirtualHost>> longest =
                Comparator.comparingInt((Map.Entry<String, RouteTable.VirtualHost> e) -> e.getKey().length()).reversed();
        suffixes.sort(longest);
        prefixes.sort(longest);
    }

    public RouteTable table() {
        return table;
    }

    /** The virtual host for an authority (with or without port), or {@code null}. */
    public RouteTable.VirtualHost virtualHost(String authority) {
        String a = authority == null ? "" : authority.toLowerCase(Locale.ROOT);
        RouteTable.VirtualHost vh = find(a);
        if (vh == null) {
            int colon = a.lastIndexOf(':');
            if (colon > 0 && a.indexOf(']') < colon) {
                vh = find(a.substring(0, colon));
            }
        }
        return vh != null ? vh : fallback;
    }

    private RouteTable.VirtualHost find(String a) {
        RouteTable.VirtualHost vh = exact.get(a);
        if (vh != null) {
            return vh;
        }
        for (Map.Entry<String, RouteTable.VirtualHost> e : suffixes) {
            if (a.endsWith(e.getKey()) && a.length() > e.getKey().length()) {
                return e.getValue();
            }
        }
        for (Map.Entry<String, RouteTable.VirtualHost> e : prefixes) {
            if (a.startsWith(e.getKey()) && a.length() > e.getKey().length()) {
                return e.getValue();
            }
        }
        return null;
    }

    /** The first matching route, or {@code null} (no route: NR). */
    public Match match(Http2Headers h) {
        CharSequence auth = h.authority();
        RouteTable.VirtualHost vh = virtualHost(auth == null ? "" : auth.toString());
        if (vh == null) {
            return null;
        }
        String full = h.path() == null ? "/" : h.path().toString();
        int q = full.indexOf('?');
        String path = q < 0 ? full : full.substring(0, q);
        String query = q < 0 ? "" : full.substring(q + 1);
        for (RouteTable.Route r : vh.routes()) {
            if (matches(r.match(), path, query, h)) {
                return new Match(vh, r);
            }
        }
        return null;
    }

    /** True when {@code m} holds for this path (without query), query string and headers. */
    public static boolean matches(RouteTable.Match m, String path, String query, Http2Headers h) {
        boolean pathOk = switch (m.pathKind()) {
            case PREFIX -> m.caseSensitive() ? path.startsWith(m.path()) : path.toLowerCase(Locale.ROOT).startsWith(m.path().toLowerCase(Locale.ROOT));
            case PATH -> m.caseSensitive() ? path.equals(m.path()) : path.equalsIgnoreCase(m.path());
            case REGEX -> m.regex().get().matcher(path).matches();
        };
        if (!pathOk) {
            return false;
        }
        if (m.grpc().isPresent()) {
            CharSequence ct = h.get("content-type");
            if (ct == null || !ct.toString().startsWith("application/grpc")) {
                return false;
            }
        }
        for (RouteTable.HeaderMatch hm : m.headers()) {
            List<CharSequence> values = h.getAll(hm.name());
            String value = values.isEmpty() ? null : String.join(",", values);
            boolean ok = hm.presentOnly() ? (value != null) == hm.present() : hm.value().matches(value);
            if (ok == hm.invert()) {
                return false;
            }
        }
        if (!m.queryParameters().isEmpty()) {
            Map<String, String> params = parseQuery(query);
            for (RouteTable.QueryMatch qm : m.queryParameters()) {
                String v = params.get(qm.name());
                if (v == null) {
                    return false;
                }
                Optional<dev.trellis.sidecar.config.StringMatch> sm = qm.value();
                if (sm.isPresent() && !sm.get().matches(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static Map<String, String> parseQuery(String q) {
        Map<String, String> out = new HashMap<>();
        for (String part : q.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            out.putIfAbsent(decode(k), decode(v));
        }
        return out;
    }

    private static String decode(String s) {
        try {
            return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }
}
