package dev.trellis.sidecar.demo;

import dev.trellis.certs.KeyPairs;
import dev.trellis.certs.Pem;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
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
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The demo gateway's HTTPS certificate: self-signed for {@code localhost} and {@code 127.0.0.1},
 * made once per demo folder. Clients trust it with {@code curl --cacert edge.crt}.
 */
final class EdgeCertificate {
    private EdgeCertificate() {}

    /** Writes {@code cert} and {@code key} (0600) unless both exist. */
    static void ensure(Path cert, Path key, Instant now) throws IOException {
        if (Files.exists(cert) && Files.exists(key)) {
            return;
        }
        KeyPair pair = KeyPairs.ecP256();
        X500Name name = new X500Name("CN=localhost, O=Trellis demo");
        try {
            var b = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
                    Date.from(now.minus(Duration.ofMinutes(1))), Date.from(now.plus(Duration.ofDays(365))), name,
                    pair.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            X509Certificate c = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
            Files.createDirectories(cert.getParent());
            Files.writeString(cert, Pem.encodeCertificate(c), StandardCharsets.US_ASCII);
            Files.deleteIfExists(key);
            Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(key, Pem.encodePrivateKey(pair.getPrivate()), StandardCharsets.US_ASCII);
        } catch (OperatorCreationException | java.security.GeneralSecurityException e) {
            throw new IOException("edge certificate: " + e.getMessage(), e);
        }
    }
}
