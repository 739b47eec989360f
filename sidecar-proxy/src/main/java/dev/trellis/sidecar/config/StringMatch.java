package dev.trellis.sidecar.config;

import java.util.Locale;
import java.util.regex.Pattern;

/** Envoy's {@code StringMatcher}: exact, prefix, suffix, contains or regex, optionally ignoring case. */
public record StringMatch(Kind kind, String value, Pattern regex, boolean ignoreCase) {
    /** The kind of comparison. */
    public enum Kind { EXACT, PREFIX, SUFFIX, CONTAINS, REGEX }

    public boolean matches(String s) {
        if (s == null) {
            return false;
        }
        if (kind == Kind.REGEX) {
            return regex.matcher(s).matches();
        }
        String a = ignoreCase ? s.toLowerCase(Locale.ROOT) : s;
        String v = ignoreCase ? value.toLowerCase(Locale.ROOT) : value;
        return switch (kind) {
            case EXACT -> a.equals(v);
            case PREFIX -> a.startsWith(v);
            case SUFFIX -> a.endsWith(v);
            case CONTAINS -> a.contains(v);
            default -> false;
        };
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + ":" + value;
    }
}
