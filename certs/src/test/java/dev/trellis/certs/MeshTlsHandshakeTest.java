package dev.trellis.certs;

import static dev.trellis.certs.TestPki.BILLING;
import static dev.trellis.certs.TestPki.NOTIFY;
import static dev.trellis.certs.TestPki.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.trellis.certs.SvidValidationException.Reason;

/** Real TLS handshakes over loopback, with both providers, for the success path and every refusal. */
class MeshTlsHandshakeTest {
    private final TestPki pki = new TestPki(Clock.systemUTC());
    private TlsLoopback loop;

    @BeforeEach
    void start() {
        loop = new TlsLoopback();
    }

    @AfterEach
    void stop() {
        loop.close();
    }

    private static void assumeAvailable(TlsProvider provider) {
        assumeThat(provider.isAvailable()).as(provider + " available").isTrue();
    }

    private SslContext server(TlsProvider p, CertifiedKey key, PeerAuthentication mode) throws Exception {
        return MeshSslContextBuilder.forServer(key, pki.bundle()).provider(p).peerAuthentication(mode).build();
    }

    private SslContext client(TlsProvider p, CertifiedKey key, SpiffeId expected) throws Exception {
        return MeshSslContextBuilder.forClient(key, pki.bundle()).provider(p).expectedPeer(expected).build();
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void mutualTlsCarriesSpiffeIdsBothWaysAndNegotiatesH2(TlsProvider p) throws Exception {
        assumeAvailable(p);
        try (var server = loop.server(server(p, pki.workload(NOTIFY), PeerAuthentication.STRICT));
             var client = loop.connect(client(p, pki.workload(USER), NOTIFY), server)) {
            var c = client.outcome();
            assertThat(c.success()).as("client handshake: %s", c.cause()).isTrue();
            assertThat(c.peer()).contains(NOTIFY);
            assertThat(c.alpn()).isEqualTo("h2");
            assertThat(c.protocol()).isEqualTo("TLSv1.3");
            assertThat(client.echo("ping")).isEqualTo("ping");
            var s = server.nextOutcome();
            assertThat(s.success()).as("server handshake: %s", s.cause()).isTrue();
            assertThat(s.peer()).contains(USER);
            assertThat(s.alpn()).isEqualTo("h2");
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void alpnFallsBackToHttp1AndTls12UsesEcdheAead(TlsProvider p) throws Exception {
        assumeAvailable(p);
        CertifiedKey user = pki.workload(USER);
        SslContext tls12Client = SslContextBuilder.forClient().sslProvider(p.nettyProvider())
                .keyManager(user.privateKey(), user.chain())
                .protocols("TLSv1.2")
                .trustManager(new SvidTrustManager(new SvidValidator(pki.bundle(), Clock.systemUTC()), java.util.Set.of(NOTIFY)))
                .endpointIdentificationAlgorithm(null)
                .applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
                        io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                        io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "http/1.1"))
                .build();
        try (var server = loop.server(server(p, pki.workload(NOTIFY), PeerAuthentication.PERMISSIVE));
             var client = loop.connect(tls12Client, server)) {
            var c = client.outcome();
            assertThat(c.success()).as("client handshake: %s", c.cause()).isTrue();
            assertThat(c.protocol()).isEqualTo("TLSv1.2");
            assertThat(c.alpn()).isEqualTo("http/1.1");
            String suite = client.channel.pipeline().get(io.netty.handler.ssl.SslHandler.class).engine().getSession().getCipherSuite();
            assertThat(suite).matches("TLS_ECDHE_ECDSA_WITH_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)");
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void tls12WithoutEcdheAeadIsRefused(TlsProvider p) throws Exception {
        assumeAvailable(p);
        SslContext cbcClient = SslContextBuilder.forClient().sslProvider(p.nettyProvider())
                .protocols("TLSv1.2").ciphers(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"))
                .trustManager(new SvidTrustManager(new SvidValidator(pki.bundle(), Clock.systemUTC()), java.util.Set.of()))
                .endpointIdentificationAlgorithm(null).build();
        try (var server = loop.server(server(p, pki.workload(NOTIFY), PeerAuthentication.PERMISSIVE));
             var client = loop.connect(cbcClient, server)) {
            assertThat(client.outcome().success()).isFalse();
            assertThat(server.nextOutcome().success()).isFalse();
        }
    }

    /** The server refuses the client's certificate; the server side reports the specific reason. */
    private void assertServerRefuses(TlsProvider p, CertifiedKey clientKey, Reason reason, String detail) throws Exception {
        ch.qos.logback.classic.Logger tmLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(SvidTrustManager.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs = new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        tmLog.addAppender(logs);
        try (var server = loop.server(server(p, pki.workload(NOTIFY), PeerAuthentication.STRICT));
             var client = loop.connect(client(p, clientKey, NOTIFY), server)) {
            var s = server.nextOutcome();
            assertThat(s.success()).isFalse();
            SvidValidationException refusal = s.refusal();
            assertThat(refusal.reason()).isEqualTo(reason);
            assertThat(refusal.getMessage()).startsWith(reason.label() + ": ").contains(detail);
            // TLS 1.3: the client may finish before the server's alert arrives; the connection must not stay usable.
            assertThat(client.channel.closeFuture().await(10, java.util.concurrent.TimeUnit.SECONDS)).as("client connection closed").isTrue();
            // The log line an operator reads names the side and the specific reason.
            assertThat(logs.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                    .anySatisfy(line -> assertThat(line).startsWith("mTLS client certificate of ")
                            .contains(" refused: " + reason.label() + ": ").contains(detail));
        } finally {
            tmLog.detachAppender(logs);
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void unknownCaIsRefused(TlsProvider p) throws Exception {
        assumeAvailable(p);
        TestPki other = new TestPki(Clock.systemUTC(), TestPki.Root.create("Evil Root", TestPki.TD));
        assertServerRefuses(p, other.workload(USER), Reason.UNKNOWN_CA, "Evil Root");
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void expiredCertificateIsRefused(TlsProvider p) throws Exception {
        assumeAvailable(p);
        Clock twoDaysAgo = Clock.offset(Clock.systemUTC(), Duration.ofDays(-2));
        CertifiedKey stale = TestPki.workload(caAt(twoDaysAgo), USER, Duration.ofHours(24));
        assertServerRefuses(p, stale, Reason.EXPIRED, "expired at " + stale.notAfter());
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void notYetValidCertificateIsRefused(TlsProvider p) throws Exception {
        assumeAvailable(p);
        CertifiedKey future = TestPki.workload(caAt(Clock.offset(Clock.systemUTC(), Duration.ofDays(1))), USER, Duration.ofHours(24));
        assertServerRefuses(p, future, Reason.NOT_YET_VALID, "valid from " + future.notBefore());
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void leafThatIsACaIsRefused(TlsProvider p) throws Exception {
        assumeAvailable(p);
        CertifiedKey caLeaf = pki.crafted(b -> b.ca(0).uri(USER.toString()));
        assertServerRefuses(p, caLeaf, Reason.LEAF_IS_CA, "CA=true");
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void leafWithTwoUriSansIsRefused(TlsProvider p) throws Exception {
        assumeAvailable(p);
        CertifiedKey twoIds = pki.crafted(b -> b.uri(USER.toString()).uri(BILLING.toString()));
        assertServerRefuses(p, twoIds, Reason.MULTIPLE_URI_SANS, "2 URI SANs");
    }

    /** Impersonation: a valid certificate for billing presented where notification-service is expected. */
    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void clientRefusesServerWithWrongSpiffeId(TlsProvider p) throws Exception {
        assumeAvailable(p);
        try (var server = loop.server(server(p, pki.workload(BILLING), PeerAuthentication.STRICT));
             var client = loop.connect(client(p, pki.workload(USER), NOTIFY), server)) {
            var c = client.outcome();
            assertThat(c.success()).isFalse();
            assertThat(c.refusal().reason()).isEqualTo(Reason.WRONG_SPIFFE_ID);
            assertThat(c.refusal().getMessage()).isEqualTo("wrong SPIFFE ID: peer is " + BILLING + " (expected: " + NOTIFY + ")");
            assertThat(server.nextOutcome().success()).isFalse();
        }
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void strictRequiresClientCertificatePermissiveDoesNot(TlsProvider p) throws Exception {
        assumeAvailable(p);
        SslContext anonymous = SslContextBuilder.forClient().sslProvider(p.nettyProvider())
                .trustManager(new SvidTrustManager(new SvidValidator(pki.bundle(), Clock.systemUTC()), java.util.Set.of(NOTIFY)))
                .endpointIdentificationAlgorithm(null).build();
        CertifiedKey serverKey = pki.workload(NOTIFY);
        try (var strict = loop.server(server(p, serverKey, PeerAuthentication.STRICT));
             var client = loop.connect(anonymous, strict)) {
            assertThat(strict.nextOutcome().success()).isFalse();
            assertThat(client.channel.closeFuture().await(10, java.util.concurrent.TimeUnit.SECONDS)).as("client connection closed").isTrue();
        }
        try (var permissive = loop.server(server(p, serverKey, PeerAuthentication.PERMISSIVE));
             var client = loop.connect(anonymous, permissive)) {
            assertThat(client.outcome().success()).isTrue();
            assertThat(client.echo("hello")).isEqualTo("hello");
            var s = permissive.nextOutcome();
            assertThat(s.success()).isTrue();
            assertThat(s.peer()).isEmpty();
        }
    }

    private CertificateAuthority caAt(Clock clock) throws Exception {
        // Same root, different clock: writes the root to files as an operator would hand it over.
        return new TestPki(clock, pki.root).ca;
    }

    static Instant now() {
        return Instant.now();
    }
}
