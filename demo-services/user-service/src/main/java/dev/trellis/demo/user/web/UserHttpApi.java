package dev.trellis.demo.user.web;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.demo.user.service.UserService;
import dev.trellis.demo.user.store.User;
import dev.trellis.demo.user.store.UserEvent;
import dev.trellis.demo.user.store.UserRepository;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The REST API: {@code POST /users}, {@code GET /users/{id}}, {@code PUT /users/{id}},
 * {@code GET /users?limit=&after=} (keyset pages in id order) and {@code GET /users/{id}/events}.
 */
public final class UserHttpApi {
    private final UserService users;

    public UserHttpApi(UserService users) {
        this.users = users;
    }

    public Router router() {
        return new Router()
                .add("POST", "/users", this::create)
                .add("GET", "/users", this::list)
                .add("GET", "/users/{id}", this::get)
                .add("PUT", "/users/{id}", this::update)
                .add("GET", "/users/{id}/events", this::events);
    }

    private Response create(Request request) throws Exception {
        JsonNode body = request.jsonObject();
        User user = users.create(text(body, "name"), text(body, "email"), request.trace());
        return Response.json(201, toJson(user)).withHeader("Location", "/users/" + user.id());
    }

    private Response get(Request request) throws Exception {
        String id = request.pathParam("id");
        UserService.Lookup lookup = users.get(id);
        User user = lookup.user().orElseThrow(() -> UserService.notFound(id));
        return Response.json(200, toJson(user)).withHeader("x-cache", lookup.cacheHit() ? "hit" : "miss");
    }

    private Response update(Request request) throws Exception {
        JsonNode body = request.jsonObject();
        Long expected = null;
        JsonNode version = body.get("version");
        if (version != null && !version.isNull()) {
            if (!version.canConvertToLong() || !version.isIntegralNumber()) {
                throw new ApiException(400, "validation failed",
                        List.of(new ApiException.FieldError("version", version + " (expected: an integer)")));
            }
            expected = version.asLong();
        }
        User user = users.update(request.pathParam("id"), text(body, "name"), text(body, "email"), expected,
                request.trace());
        return Response.json(200, toJson(user));
    }

    private Response list(Request request) throws Exception {
        UserRepository.Page page = users.list(request.queryParam("limit"), request.queryParam("after"));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("items", page.items().stream().map(UserHttpApi::toJson).toList());
        body.put("next", page.next());
        return Response.json(200, body);
    }

    private Response events(Request request) throws Exception {
        String id = request.pathParam("id");
        List<UserEvent> events = users.repository().events(id);
        if (events.isEmpty()) {
            throw UserService.notFound(id);
        }
        return Response.json(200, Map.of("items", events.stream().map(e -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("eventId", e.eventId());
            m.put("aggregateId", e.aggregateId());
            m.put("version", e.version());
            m.put("type", e.type());
            m.put("name", e.name());
            m.put("email", e.email());
            m.put("occurredAt", e.occurredAt().toString());
            return m;
        }).toList()));
    }

    /** A string field, or null when it is missing or JSON null (validation reports it); 400 for another type. */
    private static String text(JsonNode body, String field) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new ApiException(400, "validation failed", List.of(new ApiException.FieldError(field,
                    node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT) + " (expected: a string)")));
        }
        return node.asText();
    }

    static Map<String, Object> toJson(User u) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", u.id());
        m.put("name", u.name());
        m.put("email", u.email());
        m.put("version", u.version());
        m.put("createdAt", u.createdAt().toString());
        m.put("updatedAt", u.updatedAt().toString());
        return m;
    }
}
