package dev.trellis.controlplane.policy;

import java.util.Locale;

/** The kinds of mesh policy document an operator can write. */
public enum PolicyKind {
    MeshConfig, Service, Route, AccessPolicy, Gateway, ExternalService;

    /** Parses a kind as written in a document or a URL, case-insensitively; null when unknown. */
    public static PolicyKind parse(String text) {
        if (text == null) {
            return null;
        }
        for (PolicyKind k : values()) {
            if (k.name().toLowerCase(Locale.ROOT).equals(text.toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        return null;
    }

    /** The kinds as a comma-separated list, for error messages. */
    public static String names() {
        StringBuilder sb = new StringBuilder();
        for (PolicyKind k : values()) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(k.name());
        }
        return sb.toString();
    }
}
