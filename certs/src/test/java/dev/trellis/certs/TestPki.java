package dev.trellis.certs;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.bouncycastle.asn1.x509.KeyUsage;

import dev.trellis.certs.internal.CertificateBuilder;

/** Test PKI: an in-memory CA plus a way to make certificates no CA should issue. */
final class TestPki {
    static final String TD = "trellis.local";
    static final SpiffeId USER = SpiffeId.of(TD, "default", "user-service");
    static final SpiffeId NOTIFY = SpiffeId.of(TD, "default", "notification-service");
    static final SpiffeId BILLING = SpiffeId.of(TD, "default", "billing");

    final CertificateAuthority ca;
    /** The CA's root with its key, so tests can also sign what the CA never would. */
    final Root root;

    TestPki(Clock clock) {
        this(clock, Root.create("Test Root", TD));
    }

    TestPki(Clock clock, Root root) {
        this.root = root;
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("trellis-test-pki");
            java.nio.file.Path cert = dir.resolve("root.pem");
            java.nio.file.Path key = dir.resolve("root-key.pem");
            java.nio.file.Files.writeString(cert, Pem.encodeCertificate(root.cert()));
            java.nio.file.Files.writeString(key, Pem.encodePrivateKey(root.key()));
            this.ca = CertificateAuthority.builder(TD).clock(clock).operatorCa(cert, key).build();
            java.nio.file.Files.delete(cert);
            java.nio.file.Files.delete(key);
            java.nio.file.Files.delete(dir);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A leaf signed by this PKI's root, shaped by the test. */
    CertifiedKey crafted(java.util.function.Consumer<CertificateBuilder> shape) {
        return crafted(root.cert(), root.key(), shape);
    }

    TrustBundle bundle() {
        return ca.trustBundle();
    }

    /** What a sidecar does: key pair and CSR locally, CA signs. */
    CertifiedKey workload(SpiffeId id) {
        return workload(ca, id, CertificateAuthority.DEFAULT_LEAF_LIFETIME);
    }

    static CertifiedKey workload(CertificateAuthority ca, SpiffeId id, Duration lifetime) {
        KeyPair kp = KeyPairs.ecP256();
        return new CertifiedKey(kp.getPrivate(), ca.signWorkload(CertificateRequest.create(kp, id), id, lifetime));
    }

    /** A leaf signed by {@code issuer} with whatever the builder says. */
    static CertifiedKey crafted(X509Certificate issuer, PrivateKey issuerKey, java.util.function.Consumer<CertificateBuilder> shape) {
        KeyPair kp = KeyPairs.ecP256();
        Instant now = Instant.now();
        CertificateBuilder b = new CertificateBuilder().subject("CN=crafted").publicKey(kp.getPublic())
                .issuer(issuer, issuerKey).validity(now.minusSeconds(60), now.plus(Duration.ofHours(1)))
                .keyUsage(KeyUsage.digitalSignature).serverAuth().clientAuth();
        shape.accept(b);
        try {
            return new CertifiedKey(kp.getPrivate(), List.of(b.build()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A root like the CA's, with its key, for crafting. */
    record Root(X509Certificate cert, PrivateKey key) {
        static Root create(String cn, String trustDomain) {
            KeyPair kp = KeyPairs.ecP256();
            Instant now = Instant.now();
            try {
                X509Certificate cert = new CertificateBuilder().subject("O=" + trustDomain + ",CN=" + cn).publicKey(kp.getPublic())
                        .selfSigned(kp.getPrivate()).validity(now.minusSeconds(60), now.plus(Duration.ofDays(365)))
                        .ca(1).keyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign).uri("spiffe://" + trustDomain).build();
                return new Root(cert, kp.getPrivate());
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
