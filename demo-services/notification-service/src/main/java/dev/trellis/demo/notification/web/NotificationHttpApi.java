package dev.trellis.demo.notification.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.demo.notification.store.Notification;
import dev.trellis.demo.notification.store.NotificationStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code POST /events} (idempotent by event id) and {@code GET /notifications?userId=&limit=}. */
public final class NotificationHttpApi {
    private static final int MAX_LIMIT = 1000;
    private static final int MAX_ID_LENGTH = 64;

    private final NotificationStore store;

    public NotificationHttpApi(NotificationStore store) {
        this.store = store;
    }

    public Router router() {
        return new Router()
                .add("POST", "/events", this::receive)
                .add("GET", "/notifications", this::list);
    }

    private Response receive(Request request) throws Exception {
        JsonNode body = request.jsonObject();
        List<ApiException.FieldError> errors = new ArrayList<>();
        String id = requiredText(body, "id", errors);
        String type = requiredText(body, "type", errors);
        JsonNode data = body.path("data");
        String userId = data.path("id").isTextual() ? data.path("id").asText() : body.path("aggregateId").asText(null);
        if ("user.created".equals(type) && (userId == null || userId.isBlank())) {
            errors.add(new ApiException.FieldError("data.id", "required for user.created (expected: the user's id)"));
        } else if (userId != null && userId.length() > MAX_ID_LENGTH) {
            errors.add(new ApiException.FieldError("data.id", userId.length() + " characters (expected: at most "
                    + MAX_ID_LENGTH + ")"));
        }
        if (!errors.isEmpty()) {
            throw new ApiException(400, "invalid event", errors);
        }
        NotificationStore.Outcome outcome = store.accept(new NotificationStore.Event(id, type, userId,
                data.path("name").asText(null), data.path("email").asText(null), request.trace().requestId(),
                request.trace().traceId()));
        Map<String, Object> ack = new LinkedHashMap<>();
        ack.put("eventId", id);
        ack.put("status", outcome == NotificationStore.Outcome.ACCEPTED ? "accepted" : "duplicate");
        return Response.json(outcome == NotificationStore.Outcome.ACCEPTED ? 202 : 200, ack);
    }

    private Response list(Request request) throws Exception {
        String userId = request.queryParam("userId");
        int limit = 100;
        String limitParam = request.queryParam("limit");
        if (limitParam != null) {
            try {
                limit = Integer.parseInt(limitParam.trim());
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_LIMIT) {
                throw new ApiException(400, "invalid query", List.of(new ApiException.FieldError("limit",
                        "'" + limitParam + "' (expected: an integer from 1 to " + MAX_LIMIT + ")")));
            }
        }
        List<Map<String, Object>> items = store.list(userId == null || userId.isEmpty() ? null : userId, limit)
                .stream().map(NotificationHttpApi::toJson).toList();
        return Response.json(200, Map.of("items", items));
    }

    private static String requiredText(JsonNode body, String field, List<ApiException.FieldError> errors) {
        JsonNode node = body.get(field);
        if (node == null || !node.isTextual() || node.asText().isBlank()) {
            errors.add(new ApiException.FieldError(field, (node == null || node.isNull() ? "missing" : node.toString())
                    + " (expected: a non-empty string)"));
            return null;
        }
        if (node.asText().length() > MAX_ID_LENGTH) {
            errors.add(new ApiException.FieldError(field, node.asText().length() + " characters (expected: at most "
                    + MAX_ID_LENGTH + ")"));
            return null;
        }
        return node.asText();
    }

    private static Map<String, Object> toJson(Notification n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", n.id());
        m.put("userId", n.userId());
        m.put("kind", n.kind());
        m.put("recipient", n.recipient());
        m.put("message", n.message());
        m.put("eventId", n.eventId());
        m.put("requestId", n.requestId());
        m.put("traceId", n.traceId());
        m.put("createdAt", n.createdAt().toString());
        return m;
    }
}
