package dev.trellis.controlplane.policy;

import java.util.List;

/**
 * A policy change that was refused. Each error reads {@code Kind/name: spec.path: value (expected: ...)};
 * nothing of the change was applied.
 */
public final class PolicyException extends Exception {
    private static final long serialVersionUID = 1L;
    private final List<String> errors;

    public PolicyException(List<String> errors) {
        super(String.join("; ", errors));
        this.errors = List.copyOf(errors);
    }

    public PolicyException(String error) {
        this(List.of(error));
    }

    public List<String> errors() {
        return errors;
    }
}
