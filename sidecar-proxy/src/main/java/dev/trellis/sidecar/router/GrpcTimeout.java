package dev.trellis.sidecar.router;

/** The {@code grpc-timeout} header: {@code 1..8 digits} and a unit (H, M, S, m, u, n). */
final class GrpcTimeout {
    static final String HEADER = "grpc-timeout";

    private GrpcTimeout() {}

    /** Nanoseconds, or 0 when absent or malformed. */
    static long parse(CharSequence v) {
        if (v == null || v.length() < 2 || v.length() > 9) {
            return 0;
        }
        long n;
        try {
            n = Long.parseLong(v.subSequence(0, v.length() - 1).toString());
        } catch (NumberFormatException e) {
            return 0;
        }
        if (n <= 0) {
            return 0;
        }
        return switch (v.charAt(v.length() - 1)) {
            case 'H' -> Math.multiplyExact(n, 3_600_000_000_000L);
            case 'M' -> Math.multiplyExact(n, 60_000_000_000L);
            case 'S' -> Math.multiplyExact(n, 1_000_000_000L);
            case 'm' -> n * 1_000_000L;
            case 'u' -> n * 1_000L;
            case 'n' -> n;
            default -> 0;
        };
    }

    /** The shortest exact-enough form: milliseconds (rounded up) while they fit in 8 digits, else seconds. */
    static String encode(long nanos) {
        long ms = (nanos + 999_999) / 1_000_000;
        if (ms < 100_000_000L) {
            return ms + "m";
        }
        return Math.min(99_999_999L, (nanos + 999_999_999L) / 1_000_000_000L) + "S";
    }
}
