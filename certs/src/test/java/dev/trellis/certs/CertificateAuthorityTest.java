package dev.trellis.certs;

import static dev.trellis.certs.TestPki.BILLING;
import static dev.trellis.certs.TestPki.TD;
import static dev.trellis.certs.TestPki.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.trellis.certs.CertificateAuthority.RootRole;
import dev.trellis.certs.SvidValidator.PeerRole;
import dev.trellis.certs.internal.CertificateBuilder;
import dev.trellis.certs.internal.X509s;

class CertificateAuthorityTest {
    private final MutableClock clock = MutableClock.startingNow();

    @TempDir
    Path dir;

    private CertificateAuthority open() throws Exception {
        return CertificateAuthority.builder(TD).clock(clock).directory(dir).build();
    }

    @Test
    void createsAP256RootForTenYearsAndPersistsItPrivately() throws Exception {
        CertificateAuthority ca = open();
        X509Certificate root = ca.signingCertificate();
        assertThat(((ECPublicKey) root.getPublicKey()).getParams().getOrder().bitLength()).isEqualTo(256);
        assertThat(root.getSigAlgName()).isEqualTo("SHA256withECDSA");
        assertThat(root.getBasicConstraints()).as("CA with path length 0").isEqualTo(0);
        assertThat(root.getKeyUsage()[5]).as("keyCertSign").isTrue();
        assertThat(Duration.between(root.getNotBefore().toInstant(), root.getNotAfter().toInstant()))
                .isEqualTo(CertificateAuthority.ROOT_LIFETIME.plus(CertificateAuthority.BACKDATE));
        assertThat(X509s.uriSans(root)).containsExactly("spiffe://" + TD);
        assertThat(X509s.isSelfSigned(root)).isTrue();

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(CertificateAuthority.KEY_FILE))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(dir.resolve(CertificateAuthority.KEY_FILE))).startsWith("-----BEGIN PRIVATE KEY-----");
        TrustBundle onDisk = TrustBundle.read(dir.resolve(CertificateAuthority.BUNDLE_FILE));
        assertThat(onDisk.trustDomain()).isEqualTo(TD);
        assertThat(onDisk.roots()).containsExactly(root);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }

        CertificateAuthority reopened = open();
        assertThat(reopened.signingCertificate()).isEqualTo(root);
        assertThat(reopened.trustBundle()).isEqualTo(ca.trustBundle());
    }

    @Test
    void signsAnX509SvidForTheAuthorisedIdentity() throws Exception {
        CertificateAuthority ca = open();
        KeyPair kp = KeyPairs.ecP256();
        List<X509Certificate> chain = ca.signWorkload(CertificateRequest.create(kp, USER), USER);
        assertThat(chain).hasSize(1);
        X509Certificate leaf = chain.get(0);
        assertThat(leaf.getPublicKey()).isEqualTo(kp.getPublic());
        assertThat(X509s.uriSans(leaf)).containsExactly(USER.toString());
        assertThat(X509s.sansOfType(leaf, 2)).as("no DNS SANs").isEmpty();
        assertThat(leaf.getBasicConstraints()).as("not a CA").isEqualTo(-1);
        boolean[] ku = leaf.getKeyUsage();
        assertThat(ku[0]).as("digitalSignature").isTrue();
        assertThat(ku[4]).as("keyAgreement (EC)").isTrue();
        assertThat(ku[2]).as("keyEncipherment (RSA only)").isFalse();
        assertThat(ku[5]).as("keyCertSign").isFalse();
        assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(leaf.getNotAfter().toInstant()).isEqualTo(clock.instant().plus(Duration.ofHours(24)));
        assertThat(leaf.getNotBefore().toInstant()).isEqualTo(clock.instant().minus(CertificateAuthority.BACKDATE));

        CertifiedKey key = new CertifiedKey(kp.getPrivate(), chain);
        assertThat(key.spiffeId()).contains(USER);
        assertThat(new SvidValidator(ca.trustBundle(), clock).validate(chain, PeerRole.CLIENT)).isEqualTo(USER);

        X509Certificate hourly = ca.signWorkload(CertificateRequest.create(kp, USER), USER, Duration.ofHours(1)).get(0);
        assertThat(hourly.getNotAfter().toInstant()).isEqualTo(clock.instant().plus(Duration.ofHours(1)));
        CertificateAuthority configured = CertificateAuthority.builder(TD).clock(clock).leafLifetime(Duration.ofHours(2)).build();
        assertThat(configured.signWorkload(CertificateRequest.create(kp, USER), USER).get(0).getNotAfter().toInstant())
                .isEqualTo(clock.instant().plus(Duration.ofHours(2)));
    }

    @Test
    void refusesACsrForAnotherIdentity() throws Exception {
        CertificateAuthority ca = open();
        CertificateRequest csr = CertificateRequest.create(KeyPairs.ecP256(), BILLING);
        assertThatThrownBy(() -> ca.signWorkload(csr, USER))
                .isInstanceOfSatisfying(CsrRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(CsrRejectedException.Reason.IDENTITY_MISMATCH))
                .hasMessage("CSR asks for uri:" + BILLING + " (expected: only uri:" + USER
                        + ", the identity the caller is authorised for)");
    }

    @Test
    void refusesACsrWithoutProofOfPossession() throws Exception {
        CertificateAuthority ca = open();
        byte[] der = CertificateRequest.create(KeyPairs.ecP256(), USER).toDer();
        der[der.length - 3] ^= 0x55; // inside the signature value
        CertificateRequest tampered = CertificateRequest.fromDer(der);
        assertThatThrownBy(() -> ca.signWorkload(tampered, USER))
                .isInstanceOfSatisfying(CsrRejectedException.class,
                        e -> assertThat(e.reason()).isEqualTo(CsrRejectedException.Reason.INVALID_SIGNATURE))
                .hasMessageContaining("no proof of possession");
        assertThatThrownBy(() -> CertificateRequest.fromDer(new byte[] {1, 2, 3})).hasMessageContaining("malformed CSR (3 bytes");
    }

    @Test
    void csrRoundTripsThroughPem() {
        KeyPair kp = KeyPairs.ecP256();
        CertificateRequest csr = CertificateRequest.create(kp, USER);
        CertificateRequest back = CertificateRequest.fromPem(csr.toPem());
        assertThat(back.toDer()).isEqualTo(csr.toDer());
        assertThat(back.publicKey()).isEqualTo(kp.getPublic());
        assertThat(back.isSignatureValid()).isTrue();
        assertThat(back.requestedSubjectAltNames()).containsExactly("uri:" + USER);
    }

    @Test
    void refusesBadArgumentsWithClearMessages() throws Exception {
        CertificateAuthority ca = open();
        CertificateRequest csr = CertificateRequest.create(KeyPairs.ecP256(), USER);
        assertThatThrownBy(() -> ca.signWorkload(csr, USER, Duration.ZERO)).hasMessage("certificate lifetime PT0S (expected: > 0)");
        SpiffeId foreign = SpiffeId.of("other.domain", "default", "user-service");
        assertThatThrownBy(() -> ca.signWorkload(CertificateRequest.create(KeyPairs.ecP256(), foreign), foreign))
                .hasMessageContaining("trust domain 'other.domain' (expected: '" + TD + "')");
        assertThatThrownBy(() -> CertificateAuthority.builder("Bad Domain")).hasMessageContaining("character 'B'");
        assertThatThrownBy(() -> ca.issueServerCertificate(KeyPairs.ecP256().getPublic(), List.of(), List.of(), Duration.ofHours(1)))
                .hasMessageContaining("no DNS name or IP address");
    }

    @Test
    void issuesTheControlPlaneServerCertificate() throws Exception {
        CertificateAuthority ca = open();
        CertifiedKey server = ca.newServerIdentity(List.of("control-plane.trellis", "localhost"),
                List.of(InetAddress.getByName("127.0.0.1")), Duration.ofDays(30));
        X509Certificate leaf = server.leaf();
        assertThat(X509s.sansOfType(leaf, 2)).containsExactly("control-plane.trellis", "localhost");
        assertThat(X509s.sansOfType(leaf, 7)).containsExactly("127.0.0.1");
        assertThat(X509s.uriSans(leaf)).isEmpty();
        assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        // What a sidecar does with --ca-file for the control plane's port.
        ca.trustBundle().pkixTrustManager().checkServerTrusted(server.chain().toArray(X509Certificate[]::new), "ECDHE_ECDSA");
    }

    @Test
    void usesAnOperatorIntermediate(@TempDir Path operator) throws Exception {
        TestPki.Root root = TestPki.Root.create("Operator Root", TD);
        KeyPair ik = KeyPairs.ecP256();
        X509Certificate intermediate = new CertificateBuilder().subject("O=" + TD + ",CN=Operator Intermediate")
                .publicKey(ik.getPublic()).issuer(root.cert(), root.key())
                .validity(clock.instant().minusSeconds(60), clock.instant().plus(Duration.ofDays(100)))
                .ca(0).keyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign).build();
        Path certFile = operator.resolve("ca.pem");
        Path keyFile = operator.resolve("ca-key.pem");
        Files.writeString(certFile, Pem.encodeCertificates(List.of(intermediate, root.cert())));
        Files.writeString(keyFile, Pem.encodePrivateKey(ik.getPrivate()));

        CertificateAuthority ca = CertificateAuthority.builder(TD).clock(clock).directory(dir).operatorCa(certFile, keyFile).build();
        assertThat(ca.signingCertificate()).isEqualTo(intermediate);
        assertThat(ca.trustBundle().roots()).containsExactly(root.cert());
        assertThat(TrustBundle.read(dir.resolve(CertificateAuthority.BUNDLE_FILE), TD).roots()).containsExactly(root.cert());
        assertThat(Files.exists(dir.resolve(CertificateAuthority.KEY_FILE))).as("operator key is not copied").isFalse();

        List<X509Certificate> chain = ca.signWorkload(CertificateRequest.create(KeyPairs.ecP256(), USER), USER);
        assertThat(chain).containsExactly(chain.get(0), intermediate);
        assertThat(new SvidValidator(ca.trustBundle(), clock).validate(chain, PeerRole.SERVER)).isEqualTo(USER);
        // A leaf may not outlive the intermediate.
        X509Certificate longLeaf = ca.signWorkload(CertificateRequest.create(KeyPairs.ecP256(), USER), USER, Duration.ofDays(365)).get(0);
        assertThat(longLeaf.getNotAfter()).isEqualTo(intermediate.getNotAfter());
    }

    @Test
    void refusesAnOperatorCertificateThatIsNotACaOrDoesNotMatchItsKey(@TempDir Path operator) throws Exception {
        TestPki pki = new TestPki(clock);
        CertifiedKey leaf = pki.workload(USER);
        Path certFile = operator.resolve("ca.pem");
        Path keyFile = operator.resolve("ca-key.pem");
        Files.writeString(certFile, leaf.chainPem());
        Files.writeString(keyFile, leaf.privateKeyPem());
        assertThatThrownBy(() -> CertificateAuthority.builder(TD).operatorCa(certFile, keyFile).build())
                .hasMessageContaining("is not a CA (expected: basicConstraints CA=true)");
        Files.writeString(certFile, Pem.encodeCertificate(pki.root.cert()));
        assertThatThrownBy(() -> CertificateAuthority.builder(TD).operatorCa(certFile, keyFile).build())
                .hasMessageContaining("private key does not match certificate");
        Files.writeString(keyFile, Pem.encodePrivateKey(pki.root.key()));
        assertThatThrownBy(() -> CertificateAuthority.builder("other.domain").operatorCa(certFile, keyFile).build())
                .hasMessageContaining("(expected: trust domain 'other.domain')");
    }

    @Test
    void rotatesTheRootWithOverlap() throws Exception {
        CertificateAuthority ca = open();
        X509Certificate oldRoot = ca.signingCertificate();
        CertifiedKey oldLeaf = TestPki.workload(ca, USER, Duration.ofHours(24));

        X509Certificate newRoot = ca.addRoot();
        assertThat(ca.trustBundle().roots()).containsExactly(oldRoot, newRoot);
        assertThat(ca.roots()).extracting(CertificateAuthority.RootStatus::role).containsExactly(RootRole.SIGNING, RootRole.STAGED);
        assertThat(TrustBundle.read(dir.resolve(CertificateAuthority.BUNDLE_FILE)).roots()).containsExactly(oldRoot, newRoot);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(CertificateAuthority.NEXT_KEY_FILE))))
                .isEqualTo("rw-------");
        assertThatThrownBy(ca::addRoot).hasMessageContaining("is already staged");
        assertThat(ca.signingCertificate()).as("still signing with the old root until switched").isEqualTo(oldRoot);

        clock.advance(Duration.ofHours(1));
        assertThat(ca.switchToNewRoot()).isEqualTo(newRoot);
        CertifiedKey newLeaf = TestPki.workload(ca, USER, Duration.ofHours(24));
        SvidValidator both = new SvidValidator(ca.trustBundle(), clock);
        assertThat(both.validate(oldLeaf.chain(), PeerRole.CLIENT)).isEqualTo(USER);
        assertThat(both.validate(newLeaf.chain(), PeerRole.CLIENT)).isEqualTo(USER);
        assertThat(ca.roots()).extracting(CertificateAuthority.RootStatus::role).containsExactly(RootRole.RETIRED, RootRole.SIGNING);
        assertThat(ca.roots().get(0).issuedUntil()).hasValueSatisfying(until -> assertThat(until).isAfterOrEqualTo(oldLeaf.notAfter()));

        assertThat(ca.dropRetiredRoots()).as("old leaves still valid").isEmpty();
        clock.advance(Duration.ofHours(23));
        assertThat(ca.dropRetiredRoots()).as("within the persisted margin").isEmpty();

        // Survives a restart in the middle of the overlap.
        CertificateAuthority restarted = open();
        assertThat(restarted.signingCertificate()).isEqualTo(newRoot);
        assertThat(restarted.trustBundle().roots()).containsExactly(oldRoot, newRoot);

        clock.advance(Duration.ofHours(2).plusMinutes(1));
        assertThat(restarted.dropRetiredRoots()).containsExactly(oldRoot);
        assertThat(restarted.trustBundle().roots()).containsExactly(newRoot);
        assertThat(TrustBundle.read(dir.resolve(CertificateAuthority.BUNDLE_FILE)).roots()).containsExactly(newRoot);
        assertThat(Files.exists(dir.resolve(CertificateAuthority.NEXT_KEY_FILE))).isFalse();
        assertThat(open().trustBundle().roots()).containsExactly(newRoot);
        assertThatThrownBy(restarted::switchToNewRoot).hasMessageContaining("no staged root");
    }

    @Test
    void trustBundleHoldsSeveralRootsAndRefusesLeaves() {
        TestPki a = new TestPki(clock);
        TestPki b = new TestPki(clock);
        TrustBundle bundle = a.bundle().with(b.root.cert());
        TrustBundle back = TrustBundle.fromPem(TD, bundle.toPem());
        assertThat(back.roots()).containsExactly(a.root.cert(), b.root.cert());
        assertThat(back.without(a.root.cert()).roots()).containsExactly(b.root.cert());
        assertThatThrownBy(() -> TrustBundle.of(TD, List.of(a.workload(USER).leaf()))).hasMessageContaining("is not a CA");
        assertThatThrownBy(() -> TrustBundle.of(TD, List.of())).hasMessageContaining("has no root");
        assertThat(bundle.trustAnchors()).hasSize(2);
        assertThat(Set.copyOf(bundle.roots())).hasSize(2);
    }
}
