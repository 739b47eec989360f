package dev.trellis.demo.user.web;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Routes by method and path template ({@code /users/{id}}); 404 for an unknown path, 405 for a known path with another method. */
public final class Router {

    /** Handles one routed request. */
    @FunctionalInterface
    public interface Handler {
        Response handle(Request request) throws Exception;
    }

    private record Route(String method, String[] segments, Handler handler) {}

    /** A matched route and the values of its path parameters. */
    public record Match(Handler handler, Map<String, String> pathParams) {}

    private final List<Route> routes = new ArrayList<>();

    public Router add(String method, String template, Handler handler) {
        if (!template.startsWith("/")) {
            throw new IllegalArgumentException("route template: '" + template + "' (expected: starts with '/')");
        }
        routes.add(new Route(method, split(template), handler));
        return this;
    }

    public Match match(String method, String path) {
        String[] segments = split(path);
        Set<String> allowed = new TreeSet<>();
        for (Route route : routes) {
            Map<String, String> params = matchSegments(route.segments, segments);
            if (params == null) {
                continue;
            }
            if (route.method.equals(method)) {
                return new Match(route.handler, params);
            }
            allowed.add(route.method);
        }
        if (allowed.isEmpty()) {
            throw new ApiException(404, "no route for " + method + " " + path);
        }
        throw new ApiException(405, "method " + method + " not allowed on " + path + " (expected: one of " + allowed + ")");
    }

    private static Map<String, String> matchSegments(String[] template, String[] actual) {
        if (template.length != actual.length) {
            return null;
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < template.length; i++) {
            String t = template[i];
            if (t.startsWith("{") && t.endsWith("}")) {
                if (actual[i].isEmpty()) {
                    return null;
                }
                params.put(t.substring(1, t.length() - 1), actual[i]);
            } else if (!t.equals(actual[i])) {
                return null;
            }
        }
        return params;
    }

    private static String[] split(String path) {
        String trimmed = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        return trimmed.equals("/") ? new String[0] : trimmed.substring(1).split("/", -1);
    }
}
