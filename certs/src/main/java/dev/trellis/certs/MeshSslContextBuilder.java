package dev.trellis.certs;

import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import javax.net.ssl.SSLException;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;

/**
 * Builds the Netty {@link SslContext}s for mesh mTLS: TLS 1.3 (TLS 1.2 only with ECDHE and AEAD
 * suites), ALPN {@code h2} and {@code http/1.1}, peers checked by {@link SvidTrustManager} so both
 * providers behave alike.
 *
 * <pre>{@code
 * SslContext server = MeshSslContextBuilder.forServer(key, bundle).build();
 * SslContext client = MeshSslContextBuilder.forClient(key, bundle).expectedPeer(destinationId).build();
 * }</pre>
 */
public final class MeshSslContextBuilder {
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    /** TLS 1.3 suites, then TLS 1.2 suites with ECDHE key exchange and AEAD ciphers only. */
    public static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    public static final List<String> DEFAULT_ALPN = List.of("h2", "http/1.1");

    private final boolean server;
    private final CertifiedKey key;
    private final TrustBundle bundle;
    private PeerAuthentication peerAuthentication = PeerAuthentication.STRICT;
    private Set<SpiffeId> allowedPeers = Set.of();
    private Clock clock = Clock.systemUTC();
    private TlsProvider provider;
    private List<String> alpn = DEFAULT_ALPN;

    private MeshSslContextBuilder(boolean server, CertifiedKey key, TrustBundle bundle) {
        this.server = server;
        this.key = Objects.requireNonNull(key, "key");
        this.bundle = Objects.requireNonNull(bundle, "bundle");
    }

    /** An inbound (server) context presenting {@code key} and checking clients against {@code bundle}. */
    public static MeshSslContextBuilder forServer(CertifiedKey key, TrustBundle bundle) {
        return new MeshSslContextBuilder(true, key, bundle);
    }

    /** An outbound (client) context presenting {@code key} and checking the server against {@code bundle}. */
    public static MeshSslContextBuilder forClient(CertifiedKey key, TrustBundle bundle) {
        return new MeshSslContextBuilder(false, key, bundle);
    }

    /** Server only: {@link PeerAuthentication#STRICT} (default) requires a client certificate. */
    public MeshSslContextBuilder peerAuthentication(PeerAuthentication mode) {
        if (!server) {
            throw new IllegalStateException("peerAuthentication: only for server contexts");
        }
        this.peerAuthentication = Objects.requireNonNull(mode, "mode");
        return this;
    }

    /** The one SPIFFE ID the peer must have (a client sets its destination service's ID). */
    public MeshSslContextBuilder expectedPeer(SpiffeId id) {
        return allowedPeers(Set.of(Objects.requireNonNull(id, "id")));
    }

    /** The SPIFFE IDs the peer may have; empty (the default) accepts any ID of the trust domain. */
    public MeshSslContextBuilder allowedPeers(Set<SpiffeId> ids) {
        for (SpiffeId id : ids) {
            if (!id.trustDomain().equals(bundle.trustDomain())) {
                throw new IllegalArgumentException("allowed peer " + id + ": trust domain '" + id.trustDomain()
                        + "' (expected: '" + bundle.trustDomain() + "', the bundle's)");
            }
        }
        this.allowedPeers = Set.copyOf(ids);
        return this;
    }

    /** The clock certificate validity is checked against (default: system UTC). */
    public MeshSslContextBuilder clock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        return this;
    }

    /** Default {@link TlsProvider#preferred()}. */
    public MeshSslContextBuilder provider(TlsProvider provider) {
        Objects.requireNonNull(provider, "provider");
        if (!provider.isAvailable()) {
            throw new IllegalArgumentException("TLS provider " + provider + " is not available on this machine");
        }
        this.provider = provider;
        return this;
    }

    /** ALPN protocols in preference order; empty disables ALPN. Default {@code h2, http/1.1}. */
    public MeshSslContextBuilder alpn(List<String> protocols) {
        for (String p : protocols) {
            if (p == null || p.isEmpty() || p.length() > 255) {
                throw new IllegalArgumentException("ALPN protocol '" + p + "' (expected: 1 to 255 characters)");
            }
        }
        this.alpn = List.copyOf(protocols);
        return this;
    }

    public SslContext build() throws SSLException {
        TlsProvider p = provider != null ? provider : TlsProvider.preferred();
        SvidTrustManager trustManager = new SvidTrustManager(new SvidValidator(bundle, clock), allowedPeers);
        SslContextBuilder b = server
                ? SslContextBuilder.forServer(key.privateKey(), key.chain())
                        .clientAuth(peerAuthentication == PeerAuthentication.STRICT ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL)
                : SslContextBuilder.forClient().keyManager(key.privateKey(), key.chain())
                        // The server is identified by its SPIFFE ID, checked in the trust manager, not by host name.
                        .endpointIdentificationAlgorithm(null);
        b.sslProvider(p.nettyProvider())
                .protocols(PROTOCOLS)
                .ciphers(CIPHER_SUITES, SupportedCipherSuiteFilter.INSTANCE)
                .trustManager(trustManager);
        if (!alpn.isEmpty()) {
            b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
        }
        return b.build();
    }
}
