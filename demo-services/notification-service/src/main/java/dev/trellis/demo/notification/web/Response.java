package dev.trellis.demo.notification.web;

import java.util.Map;

/** What a handler answers: a status, a body rendered as JSON (null for none) and extra headers. */
public record Response(int status, Object body, Map<String, String> headers) {
    public static Response json(int status, Object body) {
        return new Response(status, body, Map.of());
    }

    public Response withHeader(String name, String value) {
        var copy = new java.util.LinkedHashMap<>(headers);
        copy.put(name, value);
        return new Response(status, body, Map.copyOf(copy));
    }
}
