package dev.trellis.common;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and prints durations the way operators write them in Trellis and Envoy configs:
 * {@code 250ms}, {@code 5s}, {@code 1.5s}, {@code 1m30s}, {@code 24h}.
 */
public final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h|d)");
    private static final String EXPECTED = "expected: a number with a unit, such as 250ms, 5s, 1m30s or 24h";

    private Durations() {}

    /**
     * Parses {@code text}; throws {@link IllegalArgumentException} naming the text and what was expected.
     * Negative durations are accepted (with a leading {@code -}) so that callers can report them with
     * their own bounds.
     */
    public static Duration parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("duration: '" + text + "' (" + EXPECTED + ")");
        }
        String s = text.trim();
        boolean negative = s.startsWith("-");
        if (negative) {
            s = s.substring(1);
        }
        Matcher m = PART.matcher(s);
        int at = 0;
        long nanos = 0;
        while (at < s.length()) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException("duration: '" + text + "' (" + EXPECTED + ")");
            }
            double value = Double.parseDouble(m.group(1));
            nanos = Math.addExact(nanos, Math.round(value * unitNanos(m.group(2))));
            at = m.end();
        }
        return Duration.ofNanos(negative ? -nanos : nanos);
    }

    /** Prints a duration in the shortest exact form {@link #parse} reads back, e.g. {@code 1m30s}, {@code 250ms}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        StringBuilder sb = new StringBuilder();
        if (d.isNegative()) {
            sb.append('-');
            d = d.negated();
        }
        long nanos = d.toNanos();
        if (nanos % 1_000_000 != 0) {
            return sb.append(nanos).append("ns").toString();
        }
        long hours = d.toHours();
        long minutes = d.toMinutesPart();
        long seconds = d.toSecondsPart();
        long millis = d.toMillisPart();
        if (hours > 0) sb.append(hours).append('h');
        if (minutes > 0) sb.append(minutes).append('m');
        if (seconds > 0) sb.append(seconds).append('s');
        if (millis > 0) sb.append(millis).append("ms");
        return sb.toString();
    }

    private static double unitNanos(String unit) {
        switch (unit) {
            case "ns": return 1;
            case "us":
            case "µs": return 1_000;
            case "ms": return 1_000_000;
            case "s": return 1_000_000_000d;
            case "m": return 60 * 1_000_000_000d;
            case "h": return 3600 * 1_000_000_000d;
            case "d": return 86400 * 1_000_000_000d;
            default: throw new IllegalStateException(unit);
        }
    }
}
