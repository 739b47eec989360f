package dev.trellis.sidecar;

/** Reads a {@code grpc-timeout} value in tests (the parser is package-private in the router). */
final class GrpcTimeoutAccess {
    private GrpcTimeoutAccess() {}

    static long parse(String v) {
        if (v == null) {
            return 0;
        }
        long n = Long.parseLong(v.substring(0, v.length() - 1));
        return switch (v.charAt(v.length() - 1)) {
            case 'S' -> n * 1_000_000_000L;
            case 'm' -> n * 1_000_000L;
            case 'u' -> n * 1_000L;
            case 'n' -> n;
            default -> throw new IllegalArgumentException(v);
        };
    }
}
