package dev.trellis.sidecar.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * HTTP/1 headers to and from the HTTP/2 form the proxy uses inside: hop-by-hop headers dropped
 * (RFC 9110 7.6.1, including those named by {@code Connection}), {@code Host} as
 * {@code :authority}, {@code te} only as {@code trailers}, cookies split and joined again.
 */
public final class HeaderConversion {
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "upgrade", "te", "trailer", "proxy-authenticate", "proxy-authorization", "http2-settings");

    private HeaderConversion() {}

    /** Request or response headers of an HTTP/1 message to HTTP/2 form; pseudo-headers are set by the caller. */
    public static Http2Headers toHttp2(HttpHeaders in, Http2Headers out, boolean keepUpgrade) {
        Set<String> named = connectionTokens(in);
        for (Map.Entry<String, String> e : in) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            String value = e.getValue();
            if (name.equals("host")) {
                continue;
            }
            if (name.equals("te")) {
                if (value.toLowerCase(Locale.ROOT).contains("trailers")) {
                    out.add("te", "trailers");
                }
                continue;
            }
            if (keepUpgrade && name.equals("upgrade")) {
                out.add(name, value);
                continue;
            }
            if (HOP_BY_HOP.contains(name) || named.contains(name)) {
                continue;
            }
            if (name.equals("cookie")) {
                for (String c : value.split(";")) {
                    String t = c.trim();
                    if (!t.isEmpty()) {
                        out.add("cookie", t);
                    }
                }
                continue;
            }
            out.add(AsciiString.of(name), value);
        }
        return out;
    }

    /** Regular (non-pseudo) headers of an HTTP/2 block to HTTP/1, cookies joined with {@code "; "}. */
    public static HttpHeaders toHttp1(Http2Headers in, HttpHeaders out) {
        StringBuilder cookies = null;
        for (Map.Entry<CharSequence, CharSequence> e : in) {
            CharSequence name = e.getKey();
            if (name.length() > 0 && name.charAt(0) == ':') {
                continue;
            }
            if (AsciiString.contentEqualsIgnoreCase(name, "cookie")) {
                cookies = cookies == null ? new StringBuilder() : cookies.append("; ");
                cookies.append(e.getValue());
                continue;
            }
            String n = name.toString();
            if (HOP_BY_HOP.contains(n) && !n.equals("te") && !n.equals("upgrade")) {
                continue;
            }
            out.add(n, e.getValue());
        }
        if (cookies != null) {
            out.set("cookie", cookies.toString());
        }
        return out;
    }

    private static Set<String> connectionTokens(HttpHeaders in) {
        Set<String> out = new HashSet<>();
        for (String v : in.getAll("connection")) {
            for (String t : v.split(",")) {
                String s = t.trim().toLowerCase(Locale.ROOT);
                if (!s.isEmpty() && !s.equals("upgrade")) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** A fresh HTTP/2 header block without validation (the codecs validated already). */
    public static Http2Headers newHeaders() {
        return new DefaultHttp2Headers(false);
    }

    /** Fresh HTTP/1 headers without validation (values come from validated input). */
    public static HttpHeaders newHttp1Headers() {
        return DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders();
    }
}
