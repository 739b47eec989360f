package dev.trellis.controlplane.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * One mesh policy document as written by an operator: {@code kind}, {@code name} and an
 * unvalidated {@code spec}. {@link PolicyValidator} turns a set of these into a {@link MeshPolicy}.
 *
 * @param source where the document came from: {@code api} or {@code dir:<file>}
 */
public record PolicyDocument(PolicyKind kind, String name, JsonNode spec, String source) {
    public static final String API_VERSION = "trellis.dev/v1";

    public PolicyDocument {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(spec, "spec");
        source = source == null ? "api" : source;
    }

    /** {@code Kind/name}, the way errors and the CLI name a document. */
    public String ref() {
        return kind + "/" + name;
    }

    public Key key() {
        return new Key(kind, name);
    }

    public boolean fromDirectory() {
        return source.startsWith("dir:");
    }

    /** Same kind, name and spec (the source does not count). */
    public boolean sameContent(PolicyDocument other) {
        return other != null && kind == other.kind && name.equals(other.name) && spec.equals(other.spec);
    }

    /** Identity of a document within the mesh policy. */
    public record Key(PolicyKind kind, String name) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = kind.compareTo(o.kind);
            return c != 0 ? c : name.compareTo(o.name);
        }

        @Override
        public String toString() {
            return kind + "/" + name;
        }
    }
}
