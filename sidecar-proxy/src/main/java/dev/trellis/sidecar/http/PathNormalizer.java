package dev.trellis.sidecar.http;

import dev.trellis.sidecar.config.PathNormalization;

/**
 * Normalises a request's {@code :path} the way Envoy's connection manager does, before any filter
 * or route sees it, so the RBAC decision, the route match and the upstream request agree:
 * <ol>
 *   <li>the {@code #fragment} is dropped and the query is left as it is;</li>
 *   <li>{@code %00} and control characters are refused (400), malformed percent-encoding too when normalising;</li>
 *   <li>{@code %2F}/{@code %5C} are kept, refused or decoded ({@code path_with_escaped_slashes_action});</li>
 *   <li>with {@code normalize_path}: percent-encoded unreserved characters are decoded
 *       ({@code %2e} is a dot), other escapes upper-cased, {@code \} becomes {@code /}, path
 *       parameters ({@code ;jsessionid=..}, as servlet containers read them) are removed from every
 *       segment, and {@code .}/{@code ..} segments are resolved (RFC 3986 5.2.4, never above the root);</li>
 *   <li>with {@code merge_slashes}: runs of {@code /} become one.</li>
 * </ol>
 */
public final class PathNormalizer {
    private PathNormalizer() {}

    /** The normalised path, or a refusal with its reason. */
    public record Result(String path, String refusal) {
        public boolean refused() {
            return refusal != null;
        }

        static Result ok(String p) {
            return new Result(p, null);
        }

        static Result refuse(String why) {
            return new Result(null, why);
        }
    }

    public static Result normalize(String raw, PathNormalization cfg) {
        if (raw.equals("*")) {
            return Result.ok(raw);
        }
        int hash = raw.indexOf('#');
        String noFragment = hash < 0 ? raw : raw.substring(0, hash);
        int q = noFragment.indexOf('?');
        String path = q < 0 ? noFragment : noFragment.substring(0, q);
        String query = q < 0 ? "" : noFragment.substring(q);
        if (!path.startsWith("/")) {
            return Result.refuse("path '" + raw + "' (expected: starting with /)");
        }
        for (int i = 0; i < noFragment.length(); i++) {
            char c = noFragment.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return Result.refuse("path with control character 0x" + Integer.toHexString(c));
            }
        }
        boolean escapedSlash = false;
        for (int i = 0; i < path.length(); i++) {
            if (path.charAt(i) != '%') {
                continue;
            }
            if (i + 2 >= path.length() || hex(path.charAt(i + 1)) < 0 || hex(path.charAt(i + 2)) < 0) {
                if (!cfg.normalize()) {
                    // forwarded as it came, like Envoy without normalize_path
                    continue;
                }
                return Result.refuse("malformed percent-encoding in path '" + raw + "'");
            }
            int v = hex(path.charAt(i + 1)) * 16 + hex(path.charAt(i + 2));
            if (v == 0) {
                return Result.refuse("percent-encoded NUL (%00) in path");
            }
            if (v < 0x20 || v == 0x7f) {
                return Result.refuse("percent-encoded control character in path");
            }
            escapedSlash |= v == '/' || v == '\\';
        }
        if (escapedSlash) {
            switch (cfg.escapedSlashes()) {
                case REJECT_REQUEST -> {
                    return Result.refuse("escaped slash (%2F or %5C) in path");
                }
                case UNESCAPE_AND_FORWARD -> path = unescapeSlashes(path);
                default -> { }
            }
        }
        if (cfg.normalize()) {
            path = removeDotSegments(segments(path));
        }
        if (cfg.mergeSlashes()) {
            path = mergeSlashes(path);
        }
        return Result.ok(path + query);
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static String unescapeSlashes(String p) {
        StringBuilder sb = new StringBuilder(p.length());
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '%' && i + 2 < p.length()) {
                String e = p.substring(i + 1, i + 3);
                if (e.equalsIgnoreCase("2F")) {
                    sb.append('/');
                    i += 2;
                    continue;
                }
                if (e.equalsIgnoreCase("5C")) {
                    sb.append('\\');
                    i += 2;
                    continue;
                }
            }
            sb.append(c);
        }
        return sb.toString();
    }

    private static boolean unreserved(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }

    /**
     * Decodes unreserved escapes, upper-cases the others, turns {@code \} into {@code /} and drops
     * {@code ;params}; the result keeps its slashes, so segments split on them.
     */
    private static String segments(String p) {
        StringBuilder sb = new StringBuilder(p.length());
        boolean inParams = false;
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '\\') {
                c = '/';
            }
            if (c == '/') {
                inParams = false;
                sb.append('/');
                continue;
            }
            if (c == ';') {
                inParams = true;
            }
            if (inParams) {
                if (c == '%') {
                    i += 2;
                }
                continue;
            }
            if (c == '%') {
                int v = hex(p.charAt(i + 1)) * 16 + hex(p.charAt(i + 2));
                i += 2;
                if (unreserved(v)) {
                    sb.append((char) v);
                } else {
                    sb.append('%').append(Character.toUpperCase(p.charAt(i - 1))).append(Character.toUpperCase(p.charAt(i)));
                }
                continue;
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /** RFC 3986 5.2.4 on an absolute path. */
    static String removeDotSegments(String p) {
        java.util.ArrayDeque<String> out = new java.util.ArrayDeque<>();
        String[] parts = p.substring(1).split("/", -1);
        for (int i = 0; i < parts.length; i++) {
            String s = parts[i];
            boolean last = i == parts.length - 1;
            if (s.equals(".")) {
                if (last) {
                    out.addLast("");
                }
            } else if (s.equals("..")) {
                out.pollLast();
                if (last) {
                    out.addLast("");
                }
            } else {
                out.addLast(s);
            }
        }
        return "/" + String.join("/", out);
    }

    private static String mergeSlashes(String p) {
        StringBuilder sb = new StringBuilder(p.length());
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '/' && sb.length() > 0 && sb.charAt(sb.length() - 1) == '/') {
                continue;
            }
            sb.append(c);
        }
        return sb.toString();
    }
}
