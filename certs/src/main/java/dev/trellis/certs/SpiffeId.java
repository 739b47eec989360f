package dev.trellis.certs;

import java.net.URI;
import java.util.Objects;

/**
 * A workload identity of the mesh: {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service>}.
 *
 * <p>Parsing is strict (SPIFFE ID spec plus the Trellis path shape): lower-case scheme and trust
 * domain, no port, user info, query, fragment, percent-encoding, empty or dot segments.
 */
public final class SpiffeId {
    /** Longest SPIFFE ID the spec allows, in bytes. */
    public static final int MAX_LENGTH = 2048;
    private static final String SCHEME = "spiffe://";
    private static final int MAX_TRUST_DOMAIN_LENGTH = 255;

    private final String trustDomain;
    private final String namespace;
    private final String service;
    private final String text;

    private SpiffeId(String trustDomain, String namespace, String service) {
        this.trustDomain = trustDomain;
        this.namespace = namespace;
        this.service = service;
        this.text = SCHEME + trustDomain + "/ns/" + namespace + "/sa/" + service;
    }

    /** Builds an ID from its parts, each validated. */
    public static SpiffeId of(String trustDomain, String namespace, String service) {
        checkTrustDomain(trustDomain, Objects.requireNonNull(trustDomain, "trustDomain"));
        String id = SCHEME + trustDomain + "/ns/" + namespace + "/sa/" + service;
        checkSegment(id, "namespace", Objects.requireNonNull(namespace, "namespace"));
        checkSegment(id, "service", Objects.requireNonNull(service, "service"));
        return new SpiffeId(trustDomain, namespace, service);
    }

    /**
     * Parses {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service>}.
     *
     * @throws IllegalArgumentException naming the input and what was expected
     */
    public static SpiffeId parse(String id) {
        Objects.requireNonNull(id, "id");
        if (id.isEmpty()) {
            throw invalid(id, "empty");
        }
        if (id.length() > MAX_LENGTH) {
            throw invalid(id, "length " + id.length() + " (expected: <= " + MAX_LENGTH + ")");
        }
        int colon = id.indexOf(':');
        if (colon < 0 || !id.startsWith(SCHEME)) {
            String scheme = colon < 0 ? "" : id.substring(0, colon);
            throw invalid(id, colon < 0 || !id.startsWith(scheme + "://")
                    ? "not a URI of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service>"
                    : "scheme '" + scheme + "' (expected: spiffe)");
        }
        String rest = id.substring(SCHEME.length());
        int slash = rest.indexOf('/');
        String trustDomain = slash < 0 ? rest : rest.substring(0, slash);
        checkTrustDomain(id, trustDomain);
        if (slash < 0 || slash == rest.length() - 1) {
            throw invalid(id, "no path (expected: /ns/<namespace>/sa/<service>)");
        }
        String path = rest.substring(slash);
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '?' || c == '#') {
                throw invalid(id, (c == '?' ? "query" : "fragment") + " not allowed");
            }
            if (c == '%') {
                throw invalid(id, "percent-encoding not allowed");
            }
        }
        String[] segments = path.substring(1).split("/", -1);
        if (segments.length != 4 || !"ns".equals(segments[0]) || !"sa".equals(segments[2])) {
            throw invalid(id, "path '" + path + "' (expected: /ns/<namespace>/sa/<service>)");
        }
        checkSegment(id, "namespace", segments[1]);
        checkSegment(id, "service", segments[3]);
        return new SpiffeId(trustDomain, segments[1], segments[3]);
    }

    /** Validates a trust domain name as the SPIFFE spec defines it (lower-case letters, digits, '.', '-', '_'). */
    public static String checkTrustDomain(String trustDomain) {
        checkTrustDomain(null, Objects.requireNonNull(trustDomain, "trustDomain"));
        return trustDomain;
    }

    private static void checkTrustDomain(String id, String td) {
        String what = "trust domain '" + td + "'";
        if (td.isEmpty()) {
            throw invalid(id, "empty trust domain");
        }
        if (td.length() > MAX_TRUST_DOMAIN_LENGTH) {
            throw invalid(id, what + ": length " + td.length() + " (expected: <= " + MAX_TRUST_DOMAIN_LENGTH + ")");
        }
        for (int i = 0; i < td.length(); i++) {
            char c = td.charAt(i);
            if (c == ':') {
                throw invalid(id, what + ": port not allowed");
            }
            if (c == '@') {
                throw invalid(id, what + ": user info not allowed");
            }
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_')) {
                throw invalid(id, what + ": character '" + c + "' (expected: a-z, 0-9, '.', '-', '_')");
            }
        }
    }

    private static void checkSegment(String id, String name, String segment) {
        if (segment.isEmpty()) {
            throw invalid(id, "empty " + name);
        }
        if (segment.equals(".") || segment.equals("..")) {
            throw invalid(id, name + " '" + segment + "' (expected: not '.' or '..')");
        }
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_')) {
                throw invalid(id, name + " '" + segment + "': character '" + c + "' (expected: A-Z, a-z, 0-9, '.', '-', '_')");
            }
        }
    }

    private static IllegalArgumentException invalid(String id, String reason) {
        return new IllegalArgumentException(id == null
                ? "invalid SPIFFE trust domain: " + reason
                : "invalid SPIFFE ID '" + id + "': " + reason);
    }

    public String trustDomain() {
        return trustDomain;
    }

    public String namespace() {
        return namespace;
    }

    public String service() {
        return service;
    }

    public URI toUri() {
        return URI.create(text);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SpiffeId other && text.equals(other.text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    /** The ID in its canonical {@code spiffe://} form. */
    @Override
    public String toString() {
        return text;
    }
}
