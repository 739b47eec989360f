package dev.trellis.demo.user.store;

/** A write expected a version of a user that is no longer its current one. */
public final class ConcurrencyConflictException extends Exception {
    private static final long serialVersionUID = 1L;

    private final long expected;
    private final long actual;

    public ConcurrencyConflictException(String id, long expected, long actual) {
        super("user '" + id + "': version " + expected + " (expected: the current version " + actual + ")");
        this.expected = expected;
        this.actual = actual;
    }

    public long expected() {
        return expected;
    }

    public long actual() {
        return actual;
    }
}
