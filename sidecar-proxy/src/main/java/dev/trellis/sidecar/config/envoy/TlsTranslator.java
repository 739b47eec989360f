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

/** {@code transport_socket} with a TLS context to {@link TlsConfig}; certificates come from files. */
public final class TlsTranslator {
    private TlsTranslator() {}

    public static TlsConfig.Downstream downstream(TransportSocket ts, String path) {
        Fields.allowOnly(ts, path, "name", "typed_config");
        String tp = path + ".typed_config";
        DownstreamTlsContext ctx = EnvoyTypes.unpack(ts.getTypedConfig(), DownstreamTlsContext.class,
                DownstreamTlsContext.getDescriptor(), tp);
        Fields.allowOnly(ctx, tp, "common_tls_context", "require_client_certificate");
        Common c = common(ctx.getCommonTlsContext(), tp + ".common_tls_context");
        if (c.cert.isEmpty()) {
            throw new ConfigException(tp + ".common_tls_context.tls_certificates: empty (expected: one certificate chain and key)");
        }
        boolean require = ctx.hasRequireClientCertificate() && ctx.getRequireClientCertificate().getValue();
        if (require && c.ca.isEmpty()) {
            throw new ConfigException(tp + ".require_client_certificate: true without validation_context.trusted_ca (expected: a CA to check clients with)");
        }
        return new TlsConfig.Downstream(c.cert.get(), c.key.get(), c.ca, require, c.alpn, c.sans);
    }

    public static TlsConfig.Upstream upstream(TransportSocket ts, String path) {
        Fields.allowOnly(ts, path, "name", "typed_config");
        String tp = path + ".typed_config";
        UpstreamTlsContext ctx = EnvoyTypes.unpack(ts.getTypedConfig(), UpstreamTlsContext.class,
                UpstreamTlsContext.getDescriptor(), tp);
        Fields.allowOnly(ctx, tp, "common_tls_context", "sni");
        Common c = common(ctx.getCommonTlsContext(), tp + ".common_tls_context");
        return new TlsConfig.Upstream(c.cert, c.key, c.ca,
                ctx.getSni().isEmpty() ? Optional.empty() : Optional.of(ctx.getSni()), c.alpn, c.sans);
    }

    private record Common(Optional<Path> cert, Optional<Path> key, Optional<Path> ca, List<String> alpn,
                          List<TlsConfig.SanMatch> sans) {}

    private static Common common(CommonTlsContext c, String path) {
        Fields.allowOnly(c, path, "tls_certificates", "validation_context", "alpn_protocols");
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
        List<TlsConfig.SanMatch> sans = new ArrayList<>();
        if (c.hasValidationContext()) {
            CertificateValidationContext v = c.getValidationContext();
            String p = path + ".validation_context";
            Fields.allowOnly(v, p, "trusted_ca", "match_typed_subject_alt_names");
            if (v.hasTrustedCa()) {
                ca = Optional.of(file(v.getTrustedCa(), p + ".trusted_ca"));
            }
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
        }
        return new Common(cert, key, ca, c.getAlpnProtocolsList(), sans);
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
