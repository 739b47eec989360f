package dev.trellis.bench.load;

import java.util.Locale;

/** The wire protocol the load generator speaks to its target. */
public enum Protocol {
    /** HTTP/1.1 with keep-alive, one request in flight per connection (no pipelining). */
    HTTP1("http1", false),
    /** HTTP/2 over cleartext with prior knowledge; requests multiplexed as streams. */
    H2C("h2c", true),
    /** gRPC unary calls of {@code trellis.bench.v1.Echo/Echo} over cleartext HTTP/2. */
    GRPC("grpc", true);

    private final String label;
    private final boolean multiplexed;

    Protocol(String label, boolean multiplexed) {
        this.label = label;
        this.multiplexed = multiplexed;
    }

    /** The name used on the command line and in reports. */
    public String label() {
        return label;
    }

    /** Whether one connection carries several requests at once. */
    public boolean multiplexed() {
        return multiplexed;
    }

    /** Parses a command-line name; the message names the value and what was expected. */
    public static Protocol parse(String text) {
        for (Protocol p : values()) {
            if (p.label.equals(text.trim().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("'" + text + "' (expected: one of http1, h2c, grpc)");
    }

    @Override
    public String toString() {
        return label;
    }
}
