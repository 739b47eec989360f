package dev.trellis.sidecar.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** TLS settings read from {@code DownstreamTlsContext} and {@code UpstreamTlsContext}. */
public final class TlsConfig {
    private TlsConfig() {}

    /** Server side TLS of a listener. */
    public record Downstream(Path certificateChain, Path privateKey, Optional<Path> trustedCa,
                             boolean requireClientCertificate, List<String> alpn,
                             List<SanMatch> matchSubjectAltNames) {
        public Downstream {
            alpn = List.copyOf(alpn);
            matchSubjectAltNames = List.copyOf(matchSubjectAltNames);
        }
    }

    /** Client side TLS towards a cluster. */
    public record Upstream(Optional<Path> certificateChain, Optional<Path> privateKey, Optional<Path> trustedCa,
                           Optional<String> sni, List<String> alpn, List<SanMatch> matchSubjectAltNames) {
        public Upstream {
            alpn = List.copyOf(alpn);
            matchSubjectAltNames = List.copyOf(matchSubjectAltNames);
        }
    }

    /** A {@code SubjectAltNameMatcher}: SAN type and how its value must match. */
    public record SanMatch(SanType type, StringMatch matcher) {}

    /** SAN types. */
    public enum SanType { DNS, URI, EMAIL, IP_ADDRESS }
}
