package dev.trellis.controlplane.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads policy documents from YAML (several per file, separated by {@code ---}) or JSON (one object
 * or an array). Checks the envelope ({@code apiVersion}, {@code kind}, {@code name}, {@code spec});
 * the spec itself is checked by {@link PolicyValidator}.
 */
public final class PolicyParser {
    static final YAMLMapper YAML = new YAMLMapper();
    private static final Set<String> ENVELOPE = Set.of("apiVersion", "kind", "name", "spec");

    private PolicyParser() {}

    /** Parses {@code text}; {@code origin} names the file or request in errors and becomes the documents' source. */
    public static List<PolicyDocument> parse(String text, String origin, String source) throws PolicyException {
        List<JsonNode> nodes = new ArrayList<>();
        try {
            try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(text)) {
                while (it.hasNext()) {
                    JsonNode n = it.next();
                    if (n == null || n.isNull() || n.isMissingNode()) continue;
                    if (n.isArray()) {
                        n.forEach(nodes::add);
                    } else {
                        nodes.add(n);
                    }
                }
            }
        } catch (JsonProcessingException e) {
            String loc = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr();
            throw new PolicyException(origin + loc + ": " + e.getOriginalMessage() + " (expected: YAML or JSON policy documents)");
        } catch (IOException | RuntimeException e) {
            throw new PolicyException(origin + ": " + e.getMessage() + " (expected: YAML or JSON policy documents)");
        }
        List<String> errors = new ArrayList<>();
        List<PolicyDocument> docs = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode n = nodes.get(i);
            String where = origin + (nodes.size() > 1 ? " document " + (i + 1) : "");
            PolicyDocument d = envelope(n, where, source, errors);
            if (d != null) docs.add(d);
        }
        if (!errors.isEmpty()) throw new PolicyException(errors);
        return docs;
    }

    private static PolicyDocument envelope(JsonNode n, String where, String source, List<String> errors) {
        if (!n.isObject()) {
            errors.add(where + ": " + SpecReader.show(n) + " (expected: a document with kind, name and spec)");
            return null;
        }
        JsonNode kindNode = n.get("kind");
        JsonNode nameNode = n.get("name");
        PolicyKind kind = kindNode == null || !kindNode.isTextual() ? null : PolicyKind.parse(kindNode.asText());
        String name = nameNode == null || !nameNode.isValueNode() ? null : nameNode.asText();
        String ref = (kind == null ? where : kind + "/" + (name == null ? "?" : name));
        int before = errors.size();
        if (kind == null) {
            errors.add(where + ": kind: " + SpecReader.show(kindNode) + " (expected: one of " + PolicyKind.names() + ")");
        }
        if (name == null || name.isBlank()) {
            errors.add(ref + ": name: " + SpecReader.show(nameNode) + " (expected: a non-empty name)");
        }
        JsonNode api = n.get("apiVersion");
        if (api != null && !PolicyDocument.API_VERSION.equals(api.asText())) {
            errors.add(ref + ": apiVersion: " + SpecReader.show(api) + " (expected: " + PolicyDocument.API_VERSION + ")");
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!ENVELOPE.contains(f)) {
                errors.add(ref + ": " + f + ": unknown field (expected one of: apiVersion, kind, name, spec)");
            }
        }
        if (errors.size() > before) return null;
        JsonNode spec = n.get("spec");
        if (spec == null || spec.isNull()) spec = JsonNodeFactory.instance.objectNode();
        return new PolicyDocument(kind, name, spec, source);
    }

    /** Parses one YAML or JSON value (for bodies that may be a bare spec); null when empty. */
    public static JsonNode parseTree(String text) throws PolicyException {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new PolicyException("request body: " + e.getMessage().split("\n")[0]
                    + " (expected: a YAML or JSON policy document)");
        }
    }

    /** The document as the API and CLI show it (with apiVersion). */
    public static JsonNode toJson(PolicyDocument d) {
        var o = JsonNodeFactory.instance.objectNode();
        o.put("apiVersion", PolicyDocument.API_VERSION);
        o.put("kind", d.kind().name());
        o.put("name", d.name());
        o.set("spec", d.spec());
        return o;
    }

    static ObjectMapper yaml() {
        return YAML;
    }
}
