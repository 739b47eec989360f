package dev.trellis.certs;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.trellis.certs.internal.CertificateBuilder;
import dev.trellis.certs.internal.X509s;

/**
 * A private key with its certificate chain (leaf first, then intermediates; the root stays in the
 * {@link TrustBundle}). This is what a TLS endpoint presents.
 *
 * @param privateKey the leaf's private key
 * @param chain the leaf certificate followed by any intermediates
 */
public record CertifiedKey(PrivateKey privateKey, List<X509Certificate> chain) {

    /** @throws IllegalArgumentException when the chain is empty or the key does not match the leaf */
    public CertifiedKey {
        Objects.requireNonNull(privateKey, "privateKey");
        chain = List.copyOf(Objects.requireNonNull(chain, "chain"));
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("certificate chain is empty (expected: leaf first)");
        }
        checkKeyMatches(privateKey, chain.get(0));
    }

    /** Reads a chain PEM (leaf first) and a key PEM. */
    public static CertifiedKey read(Path chainPem, Path keyPem) throws IOException {
        return new CertifiedKey(Pem.readPrivateKey(keyPem), Pem.readCertificates(chainPem));
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    public Instant notBefore() {
        return leaf().getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return leaf().getNotAfter().toInstant();
    }

    public Duration lifetime() {
        return Duration.between(notBefore(), notAfter());
    }

    /** The SPIFFE ID of the leaf, when it has exactly one {@code spiffe://} URI SAN. */
    public Optional<SpiffeId> spiffeId() {
        List<String> uris = X509s.uriSans(leaf());
        if (uris.size() != 1) {
            return Optional.empty();
        }
        try {
            return Optional.of(SpiffeId.parse(uris.get(0)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    public String chainPem() {
        return Pem.encodeCertificates(chain);
    }

    public String privateKeyPem() {
        return Pem.encodePrivateKey(privateKey);
    }

    @Override
    public String toString() {
        return "CertifiedKey{" + spiffeId().map(Object::toString).orElse(X509s.subject(leaf()))
                + ", notAfter=" + notAfter() + ", chain=" + chain.size() + "}";
    }

    private static void checkKeyMatches(PrivateKey key, X509Certificate leaf) {
        if (!key.getAlgorithm().equals(leaf.getPublicKey().getAlgorithm())) {
            throw new IllegalArgumentException("private key algorithm " + key.getAlgorithm() + " does not match certificate '"
                    + X509s.subject(leaf) + "' key algorithm " + leaf.getPublicKey().getAlgorithm());
        }
        // A signature round trip is the only provider-independent way to compare a private key with a public key.
        try {
            String alg = CertificateBuilder.signatureAlgorithm(key);
            byte[] probe = new byte[32];
            new SecureRandom().nextBytes(probe);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(leaf.getPublicKey());
            v.update(probe);
            if (!v.verify(sig)) {
                throw new IllegalArgumentException("private key does not match certificate '" + X509s.subject(leaf) + "'");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("private key does not match certificate '" + X509s.subject(leaf) + "': " + e.getMessage(), e);
        }
    }
}
