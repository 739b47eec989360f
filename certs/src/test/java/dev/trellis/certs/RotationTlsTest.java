package dev.trellis.certs;

import static dev.trellis.certs.TestPki.NOTIFY;
import static dev.trellis.certs.TestPki.TD;
import static dev.trellis.certs.TestPki.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import io.netty.handler.ssl.SslContext;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.trellis.certs.SvidValidationException.Reason;

/** Leaf and root rotation over real TLS connections. */
class RotationTlsTest {
    private final TlsLoopback loop = new TlsLoopback();

    @AfterEach
    void stop() {
        loop.close();
    }

    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void renewedCertificateIsUsedByNewConnectionsWhileOpenOnesStay(TlsProvider p) throws Exception {
        assumeThat(p.isAvailable()).isTrue();
        MutableClock rotatorClock = MutableClock.startingNow();
        ManualScheduler scheduler = new ManualScheduler(rotatorClock);
        TestPki pki = new TestPki(Clock.systemUTC());
        CertifiedKey first = pki.workload(NOTIFY);
        RotatingSslContext serverTls = RotatingSslContext.builder(first, pki.bundle()).provider(p).build();
        RotatingSslContext clientTls = RotatingSslContext.builder(pki.workload(USER), pki.bundle()).provider(p).build();
        assertThat(serverTls.provider()).isEqualTo(p);

        try (CertificateRotator rotator = CertificateRotator.builder(
                        current -> CompletableFuture.completedFuture(pki.workload(NOTIFY)), scheduler)
                .clock(rotatorClock).random(() -> 0.0).initial(first).onRenewed(serverTls::update).build();
             var server = loop.server(serverTls::serverContext);
             var before = loop.connect(clientTls.clientContext(NOTIFY), server)) {
            rotator.start();
            assertThat(before.outcome().peerLeaf()).isEqualTo(first.leaf());
            assertThat(before.echo("one")).isEqualTo("one");
            assertThat(server.nextOutcome().peer()).contains(USER);

            // Renewal timing is CertificateRotatorTest's subject; here the renewal runs now, on certificates valid now.
            rotator.renewNow();
            assertThat(scheduler.runDue()).isEqualTo(1);
            CertifiedKey second = rotator.current().orElseThrow();
            assertThat(second).isNotEqualTo(first);
            assertThat(serverTls.generation()).isEqualTo(2);
            assertThat(serverTls.certifiedKey()).isEqualTo(second);

            try (var after = loop.connect(clientTls.clientContext(NOTIFY), server)) {
                assertThat(after.outcome().peerLeaf()).isEqualTo(second.leaf());
                assertThat(after.echo("two")).isEqualTo("two");
            }
            assertThat(before.channel.isActive()).as("open connection not dropped").isTrue();
            assertThat(before.echo("still here")).isEqualTo("still here");

            // The client side rotates the same way: the server sees the new client certificate.
            CertifiedKey newUser = pki.workload(USER);
            clientTls.update(newUser);
            server.outcomes.clear();
            try (var renewedClient = loop.connect(clientTls.clientContext(NOTIFY), server)) {
                assertThat(renewedClient.outcome().success()).isTrue();
                assertThat(server.nextOutcome().peerLeaf()).isEqualTo(newUser.leaf());
            }
        }
    }

    /** What a gRPC channel configured with key managers sees: each handshake presents the supplier's current certificate. */
    @ParameterizedTest
    @EnumSource(TlsProvider.class)
    void keyManagerPresentsTheCurrentCertificate(TlsProvider p) throws Exception {
        assumeThat(p.isAvailable()).isTrue();
        TestPki pki = new TestPki(Clock.systemUTC());
        java.util.concurrent.atomic.AtomicReference<CertifiedKey> current = new java.util.concurrent.atomic.AtomicReference<>(pki.workload(USER));
        SslContext clientTls = io.netty.handler.ssl.SslContextBuilder.forClient().sslProvider(p.nettyProvider())
                .keyManager(new MeshKeyManager(current::get))
                .trustManager(new SvidTrustManager(new SvidValidator(pki.bundle(), Clock.systemUTC()), java.util.Set.of(NOTIFY)))
                .endpointIdentificationAlgorithm(null).build();
        SslContext serverTls = MeshSslContextBuilder.forServer(pki.workload(NOTIFY), pki.bundle()).provider(p).build();
        for (int i = 0; i < 2; i++) {
            // a new server (port) each time: a TLS 1.3 session resumed from the client's cache would
            // carry the previous handshake's certificate and say nothing about the key manager
            try (var server = loop.server(serverTls);
                 var client = loop.connect(clientTls, server)) {
                assertThat(client.outcome().peer()).contains(NOTIFY);
                var s = server.nextOutcome();
                assertThat(s.peer()).contains(USER);
                assertThat(s.peerLeaf()).isEqualTo(current.get().leaf());
            }
            current.set(pki.workload(USER));
        }
    }

    @Test
    void rootRotationWithAnOverlappingBundle() throws Exception {
        CertificateAuthority ca = CertificateAuthority.builder(TD).build();
        TrustBundle oldOnly = ca.trustBundle();
        CertifiedKey oldServer = TestPki.workload(ca, NOTIFY, Duration.ofHours(24));
        CertifiedKey oldClient = TestPki.workload(ca, USER, Duration.ofHours(24));

        ca.addRoot();
        TrustBundle overlap = ca.trustBundle();
        assertThat(overlap.roots()).hasSize(2);
        ca.switchToNewRoot();
        CertifiedKey newServer = TestPki.workload(ca, NOTIFY, Duration.ofHours(24));
        CertifiedKey newClient = TestPki.workload(ca, USER, Duration.ofHours(24));

        // A client that trusts old and new roots accepts servers with leaves from either; so do servers.
        for (CertifiedKey serverKey : List.of(oldServer, newServer)) {
            SslContext serverTls = MeshSslContextBuilder.forServer(serverKey, overlap).build();
            for (CertifiedKey clientKey : List.of(oldClient, newClient)) {
                try (var server = loop.server(serverTls);
                     var client = loop.connect(MeshSslContextBuilder.forClient(clientKey, overlap).expectedPeer(NOTIFY).build(), server)) {
                    assertThat(client.outcome().peer()).contains(NOTIFY);
                    assertThat(server.nextOutcome().peer()).contains(USER);
                }
            }
        }

        // A workload that never got the new bundle refuses the new root's leaves: push the bundle before switching.
        RotatingSslContext lagging = RotatingSslContext.builder(oldClient, oldOnly).build();
        try (var server = loop.server(MeshSslContextBuilder.forServer(newServer, overlap).build());
             var client = loop.connect(lagging.clientContext(NOTIFY), server)) {
            assertThat(client.outcome().refusal().reason()).isEqualTo(Reason.UNKNOWN_CA);
        }
        lagging.updateTrustBundle(overlap);
        try (var server = loop.server(MeshSslContextBuilder.forServer(newServer, overlap).build());
             var client = loop.connect(lagging.clientContext(NOTIFY), server)) {
            assertThat(client.outcome().peer()).contains(NOTIFY);
        }
    }
}
