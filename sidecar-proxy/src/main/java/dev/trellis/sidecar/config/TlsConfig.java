package dev.trellis.sidecar.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * TLS settings read from {@code DownstreamTlsContext} and {@code UpstreamTlsContext}. Certificates
 * come from files, or ({@code workloadIdentity}) from the sidecar's own mesh identity: the SDS
 * secret names {@value #SDS_WORKLOAD_CERTIFICATE} (its certificate and key) and
 * {@value #SDS_ROOT_CA} (the mesh trust bundle), as Istio names them.
 */
public final class TlsConfig {
    /** SDS secret name of the workload's own certificate chain and key. */
    public static final String SDS_WORKLOAD_CERTIFICATE = "default";
    /** SDS secret name of the mesh trust bundle (validation context). */
    public static final String SDS_ROOT_CA = "ROOTCA";

    private TlsConfig() {}

    /** Server side TLS of a listener; the files are empty when {@code workloadIdentity}. */
    public record Downstream(Optional<Path> certificateChain, Optional<Path> privateKey, Optional<Path> trustedCa,
                             boolean requireClientCertificate, List<String> alpn,
                             List<SanMatch> matchSubjectAltNames, boolean workloadIdentity) {
        public Downstream {
            alpn = List.copyOf(alpn);
            matchSubjectAltNames = List.copyOf(matchSubjectAltNames);
        }
    }

    /** Client side TLS towards a cluster; the files are empty when {@code workloadIdentity}. */
    public record Upstream(Optional<Path> certificateChain, Optional<Path> privateKey, Optional<Path> trustedCa,
                           Optional<String> sni, List<String> alpn, List<SanMatch> matchSubjectAltNames,
                           boolean workloadIdentity) {
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
