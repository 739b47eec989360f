package dev.trellis.controlplane.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.common.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Reads one object of a policy spec, collecting errors (rather than stopping at the first) in the
 * form {@code Kind/name: spec.field: value (expected: ...)}. Fields that are not read are reported
 * as unknown, so a typo never passes silently.
 */
final class SpecReader {
    static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

    private final String doc;
    private final String path;
    private final JsonNode node;
    private final List<String> errors;
    private final Set<String> known = new LinkedHashSet<>();

    SpecReader(String doc, String path, JsonNode node, List<String> errors) {
        this.doc = doc;
        this.path = path;
        this.node = node;
        this.errors = errors;
    }

    /** A reader for a document's {@code spec}, which must be an object (null or missing reads as empty). */
    static SpecReader root(String doc, JsonNode spec, List<String> errors) {
        SpecReader r = new SpecReader(doc, "spec", spec, errors);
        if (spec != null && !spec.isNull() && !spec.isObject()) {
            r.error("spec", spec, "an object");
        }
        return r;
    }

    String path() {
        return path;
    }

    String at(String field) {
        return path + "." + field;
    }

    void error(String fieldPath, JsonNode value, String expected) {
        errors.add(doc + ": " + fieldPath + ": " + show(value) + " (expected: " + expected + ")");
    }

    void error(String fieldPath, String shownValue, String expected) {
        errors.add(doc + ": " + fieldPath + ": " + shownValue + " (expected: " + expected + ")");
    }

    static String show(JsonNode value) {
        if (value == null || value.isMissingNode()) return "missing";
        if (value.isNull()) return "null";
        if (value.isTextual()) return value.asText().isEmpty() ? "''" : value.asText();
        return value.toString();
    }

    JsonNode raw(String field) {
        known.add(field);
        if (node == null || !node.isObject()) return null;
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    boolean has(String field) {
        return raw(field) != null;
    }

    String string(String field, String dflt, boolean required) {
        JsonNode v = raw(field);
        if (v == null) {
            if (required) error(at(field), "missing", "a string");
            return dflt;
        }
        if (!v.isValueNode() || v.isBoolean()) {
            error(at(field), v, "a string");
            return dflt;
        }
        return v.asText();
    }

    String name(String field, boolean required) {
        String s = string(field, null, required);
        if (s != null && !NAME.matcher(s).matches()) {
            error(at(field), s, "a service name: lower-case letters, digits, '-' and '.'");
            return null;
        }
        return s;
    }

    <E extends Enum<E>> E choice(String field, Class<E> type, E dflt) {
        String s = string(field, null, false);
        if (s == null) return dflt;
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(s.replace('-', '_'))) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) names.add(e.name().toLowerCase(java.util.Locale.ROOT));
        error(at(field), s, "one of " + String.join(", ", names));
        return dflt;
    }

    /** A duration such as {@code 250ms}; must be > 0 (or >= 0 when {@code zeroAllowed}). */
    Duration duration(String field, Duration dflt, boolean zeroAllowed) {
        JsonNode v = raw(field);
        if (v == null) return dflt;
        Duration d;
        try {
            d = Durations.parse(v.asText());
        } catch (IllegalArgumentException e) {
            error(at(field), v, "a duration such as 250ms, 5s or 1m30s");
            return dflt;
        }
        if (zeroAllowed ? d.isNegative() : (d.isNegative() || d.isZero())) {
            error(at(field), v, zeroAllowed ? ">= 0" : "> 0");
            return dflt;
        }
        return d;
    }

    long integer(String field, long dflt, long min, long max) {
        JsonNode v = raw(field);
        if (v == null) return dflt;
        if (!v.isIntegralNumber() && !(v.isTextual() && v.asText().matches("-?\\d+"))) {
            error(at(field), v, "an integer " + range(min, max));
            return dflt;
        }
        long n = v.asLong();
        if (n < min || n > max) {
            error(at(field), v, range(min, max));
            return dflt;
        }
        return n;
    }

    double number(String field, double dflt, double min, double max) {
        JsonNode v = raw(field);
        if (v == null) return dflt;
        if (!v.isNumber() && !(v.isTextual() && v.asText().matches("-?\\d+(\\.\\d+)?"))) {
            error(at(field), v, "a number " + min + ".." + max);
            return dflt;
        }
        double n = v.asDouble();
        if (n < min || n > max) {
            error(at(field), v, min + ".." + max);
            return dflt;
        }
        return n;
    }

    boolean bool(String field, boolean dflt) {
        JsonNode v = raw(field);
        if (v == null) return dflt;
        if (!v.isBoolean()) {
            error(at(field), v, "true or false");
            return dflt;
        }
        return v.asBoolean();
    }

    private static String range(long min, long max) {
        if (max == Long.MAX_VALUE) return ">= " + min;
        return min + ".." + max;
    }

    /** A nested object; null when absent (errors reported when not an object). */
    SpecReader object(String field) {
        JsonNode v = raw(field);
        if (v == null) return null;
        if (!v.isObject()) {
            error(at(field), v, "an object");
            return null;
        }
        return new SpecReader(doc, at(field), v, errors);
    }

    /** Each element of a list read by {@code each}; an absent list is empty. */
    <T> List<T> list(String field, Function<SpecReader, T> each) {
        JsonNode v = raw(field);
        List<T> out = new ArrayList<>();
        if (v == null) return out;
        if (!v.isArray()) {
            error(at(field), v, "a list");
            return out;
        }
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String p = at(field) + "[" + i + "]";
            if (!e.isObject()) {
                error(p, e, "an object");
                continue;
            }
            SpecReader r = new SpecReader(doc, p, e, errors);
            T t = each.apply(r);
            r.done();
            if (t != null) out.add(t);
        }
        return out;
    }

    /** A list of strings; an absent list is empty. */
    List<String> strings(String field) {
        JsonNode v = raw(field);
        List<String> out = new ArrayList<>();
        if (v == null) return out;
        if (!v.isArray()) {
            error(at(field), v, "a list of strings");
            return out;
        }
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (!e.isValueNode() || e.isNull()) {
                error(at(field) + "[" + i + "]", e, "a string");
            } else {
                out.add(e.asText());
            }
        }
        return out;
    }

    /** A map of string to string; an absent map is empty. */
    Map<String, String> stringMap(String field) {
        JsonNode v = raw(field);
        Map<String, String> out = new LinkedHashMap<>();
        if (v == null) return out;
        if (!v.isObject()) {
            error(at(field), v, "a map of strings");
            return out;
        }
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                error(at(field) + "." + e.getKey(), e.getValue(), "a string");
            } else {
                out.put(e.getKey(), e.getValue().asText());
            }
        }
        return out;
    }

    /** Reports every field that no reader method asked for. */
    void done() {
        if (node == null || !node.isObject()) return;
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                errors.add(doc + ": " + at(f) + ": unknown field (expected one of: " + String.join(", ", known) + ")");
            }
        }
    }
}
