package dev.trellis.sidecar.config;

/** One entry of a route's {@code hash_policy}: what a consistent-hash balancer hashes. */
public record HashPolicy(Kind kind, String name, boolean terminal) {
    /** Hash source. */
    public enum Kind { HEADER, COOKIE, SOURCE_IP }

    public HashPolicy {
        name = kind == Kind.HEADER ? name.toLowerCase(java.util.Locale.ROOT) : name;
    }
}
