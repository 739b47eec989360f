package dev.trellis.certs;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.spec.X509EncodedKeySpec;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

import dev.trellis.certs.internal.CertificateBuilder;

/**
 * A PKCS#10 certificate signing request: what a sidecar sends to the CA instead of its key.
 * The CA only trusts the public key and the proof of possession in it; the identity it signs
 * is the one the caller authorised (see {@link CertificateAuthority#signWorkload}).
 */
public final class CertificateRequest {
    private final PKCS10CertificationRequest csr;

    private CertificateRequest(PKCS10CertificationRequest csr) {
        this.csr = csr;
    }

    /** A CSR for {@code id}, signed with the key pair's private key (which stays in this process). */
    public static CertificateRequest create(KeyPair keyPair, SpiffeId id) {
        Objects.requireNonNull(keyPair, "keyPair");
        Objects.requireNonNull(id, "id");
        try {
            X500Name subject = new X500Name("O=" + id.trustDomain() + ",OU=" + id.namespace() + ",CN=" + id.service());
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
            JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(subject, keyPair.getPublic());
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
            return new CertificateRequest(b.build(new JcaContentSignerBuilder(
                    CertificateBuilder.signatureAlgorithm(keyPair.getPrivate())).build(keyPair.getPrivate())));
        } catch (IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create CSR for " + id + ": " + e.getMessage(), e);
        }
    }

    /**
     * A CSR that names no identity (subject {@code CN=<service>} only, no SAN): the CA gives the
     * leaf the SPIFFE ID of the caller's proven service in its trust domain and namespace, so the
     * workload need not know them in advance.
     */
    public static CertificateRequest forService(KeyPair keyPair, String service) {
        Objects.requireNonNull(keyPair, "keyPair");
        SpiffeId.of("check.invalid", "default", Objects.requireNonNull(service, "service")); // same name rules as the ID's
        try {
            JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(
                    new X500Name("CN=" + service), keyPair.getPublic());
            return new CertificateRequest(b.build(new JcaContentSignerBuilder(
                    CertificateBuilder.signatureAlgorithm(keyPair.getPrivate())).build(keyPair.getPrivate())));
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot create CSR for service " + service + ": " + e.getMessage(), e);
        }
    }

    /** Parses a DER-encoded CSR (the signature is checked by the CA, not here). */
    public static CertificateRequest fromDer(byte[] der) {
        Objects.requireNonNull(der, "der");
        try {
            return new CertificateRequest(new PKCS10CertificationRequest(der));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("malformed CSR (" + der.length + " bytes, expected: DER PKCS#10): " + e.getMessage(), e);
        }
    }

    public static CertificateRequest fromPem(String pem) {
        return new CertificateRequest(Pem.decodeCsr(pem));
    }

    public byte[] toDer() {
        try {
            return csr.getEncoded();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public String toPem() {
        return Pem.encode("CERTIFICATE REQUEST", toDer());
    }

    /** The public key the certificate will carry. */
    public PublicKey publicKey() {
        SubjectPublicKeyInfo spki = csr.getSubjectPublicKeyInfo();
        String oid = spki.getAlgorithm().getAlgorithm().getId();
        // Named explicitly: the JDK's providers do not resolve key factories by OID.
        String algorithm = X9ObjectIdentifiers.id_ecPublicKey.getId().equals(oid) ? "EC"
                : PKCSObjectIdentifiers.rsaEncryption.getId().equals(oid) ? "RSA" : oid;
        try {
            return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(spki.getEncoded()));
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("CSR public key (algorithm " + algorithm + ") is unreadable: " + e.getMessage(), e);
        }
    }

    /** True when the CSR is signed by the private key matching {@link #publicKey()} (proof of possession). */
    public boolean isSignatureValid() {
        try {
            return csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(publicKey()));
        } catch (OperatorCreationException | PKCSException | RuntimeException e) {
            return false;
        }
    }

    /** Every subject alternative name the CSR asks for, as {@code type:value} ({@code uri:spiffe://...}, {@code dns:...}). */
    public List<String> requestedSubjectAltNames() {
        List<String> out = new ArrayList<>();
        for (Attribute attr : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            for (ASN1Encodable value : attr.getAttributeValues()) {
                Extensions exts = Extensions.getInstance(value);
                GeneralNames names = GeneralNames.fromExtensions(exts, Extension.subjectAlternativeName);
                if (names == null) {
                    continue;
                }
                for (GeneralName name : names.getNames()) {
                    out.add(switch (name.getTagNo()) {
                        case GeneralName.uniformResourceIdentifier -> "uri:" + name.getName();
                        case GeneralName.dNSName -> "dns:" + name.getName();
                        case GeneralName.iPAddress -> "ip:" + name.getName();
                        case GeneralName.rfc822Name -> "email:" + name.getName();
                        default -> "other:" + name.getName();
                    });
                }
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "CertificateRequest{subject=" + csr.getSubject() + ", sans=" + requestedSubjectAltNames() + "}";
    }
}
