package dev.trellis.bench.report;

import java.util.Locale;

/** Number formats shared by the report and the console. */
final class Fmt {
    private Fmt() {}

    /** Nanoseconds as milliseconds with three decimals (microsecond resolution). */
    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }

    static String num(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
    }

    static String rps(double v) {
        return String.format(Locale.ROOT, "%,.0f", v);
    }

    /** {@code +0.123 (1.85x)}: the difference and ratio against a baseline. */
    static String added(long value, long baseline) {
        String diff = (value >= baseline ? "+" : "-") + ms(Math.abs(value - baseline));
        if (baseline <= 0) {
            return diff;
        }
        return diff + " (" + String.format(Locale.ROOT, "%.2f", value / (double) baseline) + "x)";
    }
}
