package dev.trellis.bench.scenario;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A throwaway PKI for the mTLS scenarios: one CA and two ECDSA P-256 leaves, a server (DNS
 * {@code localhost}, IP {@code 127.0.0.1}) and a client, each also carrying a SPIFFE ID as the
 * mesh's certificates do. Files are PEM; keys are unencrypted PKCS#8, and for HAProxy each leaf
 * also comes as one file holding certificate and key.
 */
public final class TestPki {
    public static final String TRUST_DOMAIN = "bench.trellis.local";
    public static final String SERVER_SPIFFE_ID = "spiffe://" + TRUST_DOMAIN + "/ns/bench/sa/echo";
    public static final String CLIENT_SPIFFE_ID = "spiffe://" + TRUST_DOMAIN + "/ns/bench/sa/load";

    /** Where the files are. */
    public record Files(Path ca, Path serverCert, Path serverKey, Path serverBundle,
                        Path clientCert, Path clientKey, Path clientBundle) {}

    private TestPki() {}

    /** Creates the CA and leaves in {@code dir} (created if missing), valid from an hour ago for two days. */
    public static Files generate(Path dir) throws IOException {
        try {
            java.nio.file.Files.createDirectories(dir);
            Instant now = Instant.now();
            Instant from = now.minus(Duration.ofHours(1));
            Instant to = now.plus(Duration.ofDays(2));
            KeyPair caKeys = ecKeyPair();
            X500Name caName = new X500Name("CN=Trellis bench CA,O=Trellis");
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder ca = new JcaX509v3CertificateBuilder(caName, serial(), Date.from(from),
                    Date.from(to), caName, caKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKeys.getPublic()));
            X509Certificate caCert = sign(ca, caKeys);

            KeyPair serverKeys = ecKeyPair();
            X509Certificate server = leaf(caCert, caKeys, serverKeys, "echo", KeyPurposeId.id_kp_serverAuth, from, to,
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, InetAddress.getLoopbackAddress().getHostAddress()),
                    new GeneralName(GeneralName.uniformResourceIdentifier, SERVER_SPIFFE_ID));
            KeyPair clientKeys = ecKeyPair();
            X509Certificate client = leaf(caCert, caKeys, clientKeys, "load", KeyPurposeId.id_kp_clientAuth, from, to,
                    new GeneralName(GeneralName.uniformResourceIdentifier, CLIENT_SPIFFE_ID));

            Files f = new Files(dir.resolve("ca.pem"), dir.resolve("server.pem"), dir.resolve("server-key.pem"),
                    dir.resolve("server-bundle.pem"), dir.resolve("client.pem"), dir.resolve("client-key.pem"),
                    dir.resolve("client-bundle.pem"));
            write(f.ca(), pem(caCert));
            write(f.serverCert(), pem(server));
            write(f.serverKey(), pemKey(serverKeys));
            write(f.serverBundle(), pem(server) + pemKey(serverKeys));
            write(f.clientCert(), pem(client));
            write(f.clientKey(), pemKey(clientKeys));
            write(f.clientBundle(), pem(client) + pemKey(clientKeys));
            return f;
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IOException("test PKI: " + e.getMessage(), e);
        }
    }

    private static X509Certificate leaf(X509Certificate ca, KeyPair caKeys, KeyPair keys, String cn, KeyPurposeId purpose,
                                        Instant from, Instant to, GeneralName... names)
            throws GeneralSecurityException, OperatorCreationException, IOException {
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(from), Date.from(to),
                new X500Name("CN=" + cn + ",O=Trellis"), keys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names))
                .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
        return sign(b, caKeys);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer)
            throws OperatorCreationException, GeneralSecurityException {
        ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate());
        return new JcaX509CertificateConverter().getCertificate(b.build(s));
    }

    private static KeyPair ecKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(64, new SecureRandom()).add(BigInteger.ONE);
    }

    private static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(o);
        }
        return w.toString();
    }

    private static String pemKey(KeyPair keys) throws IOException {
        return pem(new PemObject("PRIVATE KEY", keys.getPrivate().getEncoded()));
    }

    private static void write(Path p, String text) throws IOException {
        java.nio.file.Files.writeString(p, text, StandardCharsets.US_ASCII);
    }
}
