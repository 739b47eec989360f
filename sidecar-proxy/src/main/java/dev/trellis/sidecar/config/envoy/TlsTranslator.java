package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.TlsConfig;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code transport_socket} with a TLS context to {@link TlsConfig}. Certificates come from files,
 * or from the sidecar's workload identity through SDS secret names: {@code tls_certificate_sds_secret_configs}
 * {@code [{name: "default"}]} for its certificate and {@code validation_context_sds_secret_config}
 * {@code {name: "ROOTCA"}} (alone or in a {@code combined_validation_context} whose default context
 * holds SAN matchers) for the trust bundle. The two go together; mixing SDS and files is refused.
 */
public final class TlsTranslator {
    private TlsTranslator() {}

    public static TlsConfig.Downstream downstream(TransportSocket ts, String path) {
        Fields.allowOnly(ts, path, "name", "typed_config");
        String tp = path + ".typed_config";
        DownstreamTlsContext ctx = EnvoyTypes.unpack(ts.getTypedConfig(), DownstreamTlsContext.class,
                DownstreamTlsContext.getDescriptor(), tp);
        Fields.allowOnly(ctx, tp, "common_tls_context", "require_client_certificate");
        Common c = common(ctx.getCommonTlsContext(), tp + ".common_tls_context");
        if (c.cert.isEmpty() && !c.sds) {
            throw new ConfigException(tp + ".common_tls_context.tls_certificates: empty (expected: one certificate chain and key)");
        }
        boolean require = ctx.hasRequireClientCertificate() && ctx.getRequireClientCertificate().getValue();
        if (require && c.ca.isEmpty() && !c.sds) {
            throw new ConfigException(tp + ".require_client_certificate: true without validation_context.trusted_ca (expected: a CA to check clients with)");
        }
        return new TlsConfig.Downstream(c.cert, c.key, c.ca, require, c.alpn, c.sans, c.sds);
    }

    public static TlsConfig.Upstream upstream(TransportSocket ts, String path) {
        Fields.allowOnly(ts, path, "name", "typed_config");
        String tp = path + ".typed_config";
        UpstreamTlsContext ctx = EnvoyTypes.unpack(ts.getTypedConfig(), UpstreamTlsContext.class,
                UpstreamTlsContext.getDescriptor(), tp);
        Fields.allowOnly(ctx, tp, "common_tls_context", "sni");
        Common c = common(ctx.getCommonTlsContext(), tp + ".common_tls_context");
        return new TlsConfig.Upstream(c.cert, c.key, c.ca,
                ctx.getSni().isEmpty() ? Optional.empty() : Optional.of(ctx.getSni()), c.alpn, c.sans, c.sds);
    }

    private record Common(Optional<Path> cert, Optional<Path> key, Optional<Path> ca, List<String> alpn,
                          List<TlsConfig.SanMatch> sans, boolean sds) {}

    private static Common common(CommonTlsContext c, String path) {
        Fields.allowOnly(c, path, "tls_certificates", "validation_context", "alpn_protocols",
                "tls_certificate_sds_secret_configs", "validation_context_sds_secret_config", "combined_validation_context");
        boolean sdsCert = c.getTlsCertificateSdsSecretConfigsCount() > 0;
        boolean sdsCa = c.hasValidationContextSdsSecretConfig() || c.hasCombinedValidationContext();
        if (sdsCert || sdsCa) {
            return sds(c, path, sdsCert, sdsCa);
        }
        Optional<Path> cert = Optional.empty();
        Optional<Path> key = Optional.empty();
        if (c.getTlsCertificatesCount() > 1) {
            throw Fields.invalid(path + ".tls_certificates", c.getTlsCertificatesCount() + " certificates", "at most one");
        }
        if (c.getTlsCertificatesCount() == 1) {
            TlsCertificate t = c.getTlsCertificates(0);
            String p = path + ".tls_certificates[0]";
            Fields.allowOnly(t, p, "certificate_chain", "private_key");
            cert = Optional.of(file(t.getCertificateChain(), p + ".certificate_chain"));
            key = Optional.of(file(t.getPrivateKey(), p + ".private_key"));
        }
        Optional<Path> ca = Optional.empty();
        if (c.hasValidationContext()) {
            CertificateValidationContext v = c.getValidationContext();
            String p = path + ".validation_context";
            Fields.allowOnly(v, p, "trusted_ca", "match_typed_subject_alt_names");
            if (v.hasTrustedCa()) {
                ca = Optional.of(file(v.getTrustedCa(), p + ".trusted_ca"));
            }
        }
        return new Common(cert, key, ca, c.getAlpnProtocolsList(), sans(c.getValidationContext(), path + ".validation_context"), false);
    }

    /** The workload identity through SDS names: certificate "default" and trust "ROOTCA", both or neither. */
    private static Common sds(CommonTlsContext c, String path, boolean sdsCert, boolean sdsCa) {
        if (!sdsCert || !sdsCa || c.getTlsCertificatesCount() > 0 || c.hasValidationContext()) {
            throw new ConfigException(path + ": SDS secrets mixed with files or only one of them (expected:"
                    + " tls_certificate_sds_secret_configs [" + TlsConfig.SDS_WORKLOAD_CERTIFICATE + "] together with"
                    + " validation_context_sds_secret_config " + TlsConfig.SDS_ROOT_CA + ", and no files)");
        }
        if (c.getTlsCertificateSdsSecretConfigsCount() != 1) {
            throw Fields.invalid(path + ".tls_certificate_sds_secret_configs", c.getTlsCertificateSdsSecretConfigsCount() + " secrets", "exactly one");
        }
        secret(c.getTlsCertificateSdsSecretConfigs(0), path + ".tls_certificate_sds_secret_configs[0]", TlsConfig.SDS_WORKLOAD_CERTIFICATE);
        List<TlsConfig.SanMatch> sans = List.of();
        if (c.hasCombinedValidationContext()) {
            if (c.hasValidationContextSdsSecretConfig()) {
                throw new ConfigException(path + ": both validation_context_sds_secret_config and combined_validation_context (expected: one)");
            }
            var cv = c.getCombinedValidationContext();
            String cp = path + ".combined_validation_context";
            Fields.allowOnly(cv, cp, "default_validation_context", "validation_context_sds_secret_config");
            secret(cv.getValidationContextSdsSecretConfig(), cp + ".validation_context_sds_secret_config", TlsConfig.SDS_ROOT_CA);
            Fields.allowOnly(cv.getDefaultValidationContext(), cp + ".default_validation_context", "match_typed_subject_alt_names");
            sans = sans(cv.getDefaultValidationContext(), cp + ".default_validation_context");
        } else {
            secret(c.getValidationContextSdsSecretConfig(), path + ".validation_context_sds_secret_config", TlsConfig.SDS_ROOT_CA);
        }
        return new Common(Optional.empty(), Optional.empty(), Optional.empty(), c.getAlpnProtocolsList(), sans, true);
    }

    private static void secret(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig s, String path, String expected) {
        // sds_config is left out on purpose: the secret is the sidecar's own (Envoy: a static secret), not fetched
        Fields.allowOnly(s, path, "name");
        if (!s.getName().equals(expected)) {
            throw Fields.invalid(path + ".name", "'" + s.getName() + "'", "'" + expected + "' (the sidecar's workload identity)");
        }
    }

    private static List<TlsConfig.SanMatch> sans(CertificateValidationContext v, String p) {
        List<TlsConfig.SanMatch> sans = new ArrayList<>();
        for (int i = 0; i < v.getMatchTypedSubjectAltNamesCount(); i++) {
            SubjectAltNameMatcher m = v.getMatchTypedSubjectAltNames(i);
            String mp = p + ".match_typed_subject_alt_names[" + i + "]";
            Fields.allowOnly(m, mp, "san_type", "matcher");
            TlsConfig.SanType type = switch (m.getSanType()) {
                case DNS -> TlsConfig.SanType.DNS;
                case URI -> TlsConfig.SanType.URI;
                case EMAIL -> TlsConfig.SanType.EMAIL;
                case IP_ADDRESS -> TlsConfig.SanType.IP_ADDRESS;
                default -> throw Fields.invalid(mp + ".san_type", m.getSanType(), "DNS, URI, EMAIL or IP_ADDRESS");
            };
            sans.add(new TlsConfig.SanMatch(type, RouteConfigTranslator.stringMatch(m.getMatcher(), mp + ".matcher")));
        }
        return sans;
    }

    private static Path file(DataSource ds, String path) {
        Fields.allowOnly(ds, path, "filename");
        if (ds.getFilename().isEmpty()) {
            throw new ConfigException(path + ": no filename (expected: filename of a PEM file; inline secrets are not supported)");
        }
        Path p = Path.of(ds.getFilename());
        if (!Files.isReadable(p)) {
            throw Fields.invalid(path + ".filename", "'" + p + "' (not readable)", "a readable PEM file");
        }
        return p;
    }
}
