package dev.trellis.demo.notification.web;

import java.util.List;

/** A failure that maps to one HTTP status and a JSON error body; thrown by handlers, rendered by {@link HttpService}. */
public class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final List<FieldError> fields;

    public ApiException(int status, String message) {
        this(status, message, List.of());
    }

    public ApiException(int status, String message, List<FieldError> fields) {
        super(message);
        this.status = status;
        this.fields = List.copyOf(fields);
    }

    public int status() {
        return status;
    }

    public List<FieldError> fields() {
        return fields;
    }

    /** One invalid field of a request: its name and what was wrong with it. */
    public record FieldError(String field, String message) {}
}
