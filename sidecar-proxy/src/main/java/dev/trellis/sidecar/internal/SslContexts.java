package dev.trellis.sidecar.internal;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.StringMatch;
import dev.trellis.sidecar.config.TlsConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Set;
import javax.net.ssl.SSLException;
import dev.trellis.certs.SpiffeId;
import dev.trellis.sidecar.identity.MeshTls;

/** Netty {@link SslContext}s from {@link TlsConfig}: OpenSSL (BoringSSL) when available, JDK otherwise. */
public final class SslContexts {
    private SslContexts() {}

    public static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /** The listener's context; {@code mesh} resolves the SDS names of the workload identity (null: none). */
    public static SslContext server(TlsConfig.Downstream t, String listener, MeshTls mesh) {
        if (t.workloadIdentity()) {
            if (mesh == null) throw noIdentity("listener '" + listener + "'");
            return mesh.inbound(t.requireClientCertificate());
        }
        return server(t, listener);
    }

    /** The cluster's context; {@code mesh} resolves the SDS names of the workload identity (null: none). */
    public static SslContext client(TlsConfig.Upstream t, boolean http2, String cluster, MeshTls mesh) {
        if (t.workloadIdentity()) {
            if (mesh == null) throw noIdentity("cluster '" + cluster + "'");
            // exact spiffe:// URI SAN matchers become the IDs the handshake accepts; others are checked after it
            Set<SpiffeId> ids = new LinkedHashSet<>();
            for (TlsConfig.SanMatch m : t.matchSubjectAltNames()) {
                if (m.type() == TlsConfig.SanType.URI && m.matcher().kind() == StringMatch.Kind.EXACT && !m.matcher().ignoreCase()
                        && m.matcher().value().startsWith("spiffe://")) {
                    try {
                        ids.add(SpiffeId.parse(m.matcher().value()));
                    } catch (IllegalArgumentException e) {
                        throw new ConfigException("cluster '" + cluster + "': SAN matcher " + m.matcher() + ": " + e.getMessage());
                    }
                }
            }
            boolean allExact = ids.size() == t.matchSubjectAltNames().size();
            return mesh.outbound(allExact ? ids : Set.of(), http2);
        }
        return client(t, http2, cluster);
    }

    private static ConfigException noIdentity(String what) {
        return new ConfigException(what + ": SDS secrets '" + TlsConfig.SDS_WORKLOAD_CERTIFICATE + "'/'" + TlsConfig.SDS_ROOT_CA
                + "' need the sidecar's workload identity (expected: run with --control-plane, --ca-file and --token-file)");
    }

    public static SslContext server(TlsConfig.Downstream t, String listener) {
        try {
            // Envoy's downstream defaults: TLS 1.2 to 1.3
            SslContextBuilder b = SslContextBuilder.forServer(t.certificateChain().get().toFile(), t.privateKey().get().toFile())
                    .sslProvider(provider()).protocols("TLSv1.3", "TLSv1.2");
            if (t.trustedCa().isPresent()) {
                b.trustManager(t.trustedCa().get().toFile());
                b.clientAuth(t.requireClientCertificate() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
            }
            List<String> alpn = t.alpn().isEmpty()
                    ? List.of(ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1) : t.alpn();
            b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new ConfigException("listener '" + listener + "': cannot build TLS context from "
                    + t.certificateChain() + " and " + t.privateKey() + ": " + e.getMessage(), e);
        }
    }

    public static SslContext client(TlsConfig.Upstream t, boolean http2, String cluster) {
        try {
            SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider());
            if (t.certificateChain().isPresent()) {
                b.keyManager(t.certificateChain().get().toFile(), t.privateKey().get().toFile());
            }
            if (t.trustedCa().isPresent()) {
                b.trustManager(t.trustedCa().get().toFile());
            }
            List<String> alpn = !t.alpn().isEmpty() ? t.alpn()
                    : List.of(http2 ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1);
            b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new ConfigException("cluster '" + cluster + "': cannot build TLS context: " + e.getMessage(), e);
        }
    }

    /** True when one of the certificate's SANs matches one of the matchers (or there are none). */
    public static boolean sanMatches(X509Certificate cert, List<TlsConfig.SanMatch> matchers) {
        if (matchers.isEmpty()) {
            return true;
        }
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return false;
        }
        if (sans == null) {
            return false;
        }
        List<String[]> typed = new ArrayList<>();
        for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            String t = switch (type) {
                case 1 -> "EMAIL";
                case 2 -> "DNS";
                case 6 -> "URI";
                case 7 -> "IP_ADDRESS";
                default -> null;
            };
            if (t != null) {
                typed.add(new String[] {t, String.valueOf(san.get(1))});
            }
        }
        for (TlsConfig.SanMatch m : matchers) {
            for (String[] s : typed) {
                if (s[0].equals(m.type().name()) && m.matcher().matches(s[1])) {
                    return true;
                }
            }
        }
        return false;
    }
}
