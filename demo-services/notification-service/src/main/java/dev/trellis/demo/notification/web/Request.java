package dev.trellis.demo.notification.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** One HTTP request as handlers see it: the body is read in full (bounded by {@link HttpService}). */
public record Request(String method, String path, Map<String, String> query, Map<String, String> pathParams,
                      byte[] body, TraceHeaders trace) {

    public String queryParam(String name) {
        return query.get(name);
    }

    public String pathParam(String name) {
        return pathParams.get(name);
    }

    /** The body as a JSON object; 400 when it is empty, not JSON, or not an object. */
    public JsonNode jsonObject() {
        if (body.length == 0) {
            throw new ApiException(400, "body: empty (expected: a JSON object)");
        }
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "body: invalid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new ApiException(400, "body: unreadable (" + e.getMessage() + ")");
        }
        if (node == null || !node.isObject()) {
            throw new ApiException(400, "body: " + (node == null ? "empty" : node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT))
                    + " (expected: a JSON object)");
        }
        return node;
    }

    static Map<String, String> parseQuery(String raw) {
        Map<String, String> params = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            params.putIfAbsent(key, value);
        }
        return params;
    }
}
