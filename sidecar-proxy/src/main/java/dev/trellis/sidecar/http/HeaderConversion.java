package dev.trellis.sidecar.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * HTTP/1 headers to and from the HTTP/2 form the proxy uses inside: hop-by-hop headers dropped
 * (RFC 9110 7.6.1, including those named by {@code Connection}), {@code Host} as
 * {@code :authority}, {@code te} only as {@code trailers}, cookies split and joined again.
 */
public final class HeaderConversion {
    // Names stay the CharSequences they came as (AsciiString from the HTTP/1 decoder, String from
    // config), so a header crosses without being copied into a String and back; the few hop-by-hop
    // names are compared in place, which mostly ends at a length check.
    private static final AsciiString[] HOP_BY_HOP = Stream.of("connection", "keep-alive", "proxy-connection",
            "transfer-encoding", "upgrade", "te", "trailer", "proxy-authenticate", "proxy-authorization",
            "http2-settings").map(AsciiString::cached).toArray(AsciiString[]::new);
    private static final AsciiString HOST = AsciiString.cached("host");
    private static final AsciiString TE = AsciiString.cached("te");
    private static final AsciiString UPGRADE = AsciiString.cached("upgrade");
    private static final AsciiString COOKIE = AsciiString.cached("cookie");
    private static final AsciiString TRAILERS = AsciiString.cached("trailers");

    private HeaderConversion() {}

    /** Request or response headers of an HTTP/1 message to HTTP/2 form; pseudo-headers are set by the caller. */
    public static Http2Headers toHttp2(HttpHeaders in, Http2Headers out, boolean keepUpgrade) {
        Set<AsciiString> named = connectionTokens(in);
        Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            AsciiString name = AsciiString.of(e.getKey()).toLowerCase();
            CharSequence value = e.getValue();
            if (name.contentEquals(HOST)) {
                continue;
            }
            if (name.contentEquals(TE)) {
                if (AsciiString.containsIgnoreCase(value, TRAILERS)) {
                    out.add(TE, TRAILERS);
                }
                continue;
            }
            if (keepUpgrade && name.contentEquals(UPGRADE)) {
                out.add(name, value);
                continue;
            }
            if (hopByHop(name) || named.contains(name)) {
                continue;
            }
            if (name.contentEquals(COOKIE)) {
                for (String c : value.toString().split(";")) {
                    String t = c.trim();
                    if (!t.isEmpty()) {
                        out.add(COOKIE, t);
                    }
                }
                continue;
            }
            out.add(name, value);
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
            if (AsciiString.contentEqualsIgnoreCase(name, COOKIE)) {
                cookies = cookies == null ? new StringBuilder() : cookies.append("; ");
                cookies.append(e.getValue());
                continue;
            }
            if (hopByHop(name) && !AsciiString.contentEquals(name, TE) && !AsciiString.contentEquals(name, UPGRADE)) {
                continue;
            }
            out.add(name, e.getValue());
        }
        if (cookies != null) {
            out.set(COOKIE, cookies.toString());
        }
        return out;
    }

    /** Whether {@code name} is one of the hop-by-hop names, exactly (lower case, as HTTP/2 writes them). */
    private static boolean hopByHop(CharSequence name) {
        for (AsciiString h : HOP_BY_HOP) {
            if (AsciiString.contentEquals(name, h)) {
                return true;
            }
        }
        return false;
    }

    /** Lower-case names that {@code Connection} lists as hop-by-hop for this message ({@code upgrade} kept). */
    private static Set<AsciiString> connectionTokens(HttpHeaders in) {
        if (!in.contains(HttpHeaderNames.CONNECTION)) {
            return Set.of();
        }
        Set<AsciiString> out = new HashSet<>();
        for (String v : in.getAll(HttpHeaderNames.CONNECTION)) {
            for (String t : v.split(",")) {
                AsciiString s = AsciiString.of(t.trim()).toLowerCase();
                if (!s.isEmpty() && !s.contentEquals(UPGRADE)) {
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
