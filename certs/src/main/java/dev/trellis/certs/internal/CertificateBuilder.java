package dev.trellis.certs.internal;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A permissive X.509 certificate builder. The CA puts policy on top of it; tests use it directly to
 * make certificates the CA would refuse to issue (CA leaves, two URI SANs, ...).
 */
public final class CertificateBuilder {
    private static final SecureRandom RANDOM = new SecureRandom();

    private X500Name subject = new X500Name("CN=trellis");
    private PublicKey publicKey;
    private X509Certificate issuer;
    private PrivateKey signingKey;
    private Instant notBefore;
    private Instant notAfter;
    private boolean ca;
    private int pathLength = -1;
    private int keyUsage = -1;
    private final List<KeyPurposeId> extendedKeyUsages = new ArrayList<>();
    private final List<GeneralName> subjectAltNames = new ArrayList<>();

    public CertificateBuilder subject(String dn) {
        this.subject = new X500Name(dn);
        return this;
    }

    public CertificateBuilder publicKey(PublicKey key) {
        this.publicKey = key;
        return this;
    }

    /** The issuer certificate and its key; without one the certificate is self-signed with {@code key}. */
    public CertificateBuilder issuer(X509Certificate issuerCert, PrivateKey key) {
        this.issuer = issuerCert;
        this.signingKey = key;
        return this;
    }

    public CertificateBuilder selfSigned(PrivateKey key) {
        this.issuer = null;
        this.signingKey = key;
        return this;
    }

    public CertificateBuilder validity(Instant from, Instant until) {
        this.notBefore = from;
        this.notAfter = until;
        return this;
    }

    /** Marks the certificate as a CA; {@code pathLength} below 0 means no constraint. */
    public CertificateBuilder ca(int pathLength) {
        this.ca = true;
        this.pathLength = pathLength;
        return this;
    }

    public CertificateBuilder keyUsage(int bits) {
        this.keyUsage = bits;
        return this;
    }

    public CertificateBuilder serverAuth() {
        extendedKeyUsages.add(KeyPurposeId.id_kp_serverAuth);
        return this;
    }

    public CertificateBuilder clientAuth() {
        extendedKeyUsages.add(KeyPurposeId.id_kp_clientAuth);
        return this;
    }

    public CertificateBuilder uri(String uri) {
        subjectAltNames.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
        return this;
    }

    public CertificateBuilder dns(String name) {
        subjectAltNames.add(new GeneralName(GeneralName.dNSName, name));
        return this;
    }

    public CertificateBuilder ip(InetAddress address) {
        subjectAltNames.add(new GeneralName(GeneralName.iPAddress, address.getHostAddress()));
        return this;
    }

    public X509Certificate build() throws GeneralSecurityException {
        Objects.requireNonNull(publicKey, "publicKey");
        Objects.requireNonNull(signingKey, "signingKey");
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        X500Name issuerName = issuer == null ? subject : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
        BigInteger serial = new BigInteger(127, RANDOM).add(BigInteger.ONE);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName, serial,
                Date.from(notBefore), Date.from(notAfter), subject, publicKey);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true,
                    ca ? (pathLength >= 0 ? new BasicConstraints(pathLength) : new BasicConstraints(true))
                       : new BasicConstraints(false));
            if (keyUsage >= 0) {
                b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
            }
            if (!extendedKeyUsages.isEmpty()) {
                b.addExtension(Extension.extendedKeyUsage, false,
                        new ExtendedKeyUsage(extendedKeyUsages.toArray(KeyPurposeId[]::new)));
            }
            if (!subjectAltNames.isEmpty()) {
                // An empty subject requires a critical SAN (RFC 5280 4.2.1.6).
                boolean critical = subject.getRDNs().length == 0;
                b.addExtension(Extension.subjectAlternativeName, critical,
                        new GeneralNames(subjectAltNames.toArray(GeneralName[]::new)));
            }
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(publicKey));
            if (issuer != null) {
                b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer));
            } else {
                b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(publicKey));
            }
            ContentSigner signer = new JcaContentSignerBuilder(signatureAlgorithm(signingKey)).build(signingKey);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (CertIOException | OperatorCreationException e) {
            throw new GeneralSecurityException("cannot build certificate for '" + subject + "': " + e.getMessage(), e);
        }
    }

    /** The signature algorithm the mesh uses for a signing key: SHA-256 (or stronger for big EC keys). */
    public static String signatureAlgorithm(PrivateKey key) {
        if (key instanceof ECKey ec) {
            int bits = ec.getParams().getOrder().bitLength();
            return bits > 384 ? "SHA512withECDSA" : bits > 256 ? "SHA384withECDSA" : "SHA256withECDSA";
        }
        if (key instanceof RSAKey) {
            return "SHA256withRSA";
        }
        if ("EC".equals(key.getAlgorithm())) {
            return "SHA256withECDSA";
        }
        throw new IllegalArgumentException("signing key algorithm '" + key.getAlgorithm() + "' (expected: EC or RSA)");
    }
}
