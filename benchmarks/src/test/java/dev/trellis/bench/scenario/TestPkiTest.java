package dev.trellis.bench.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The throwaway PKI of the mTLS scenarios. */
class TestPkiTest {

    private static X509Certificate cert(Path p) throws Exception {
        try (InputStream in = Files.newInputStream(p)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static PrivateKey key(Path p) throws Exception {
        String pem = Files.readString(p);
        assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----");
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
    }

    @Test
    void leavesAreSignedByTheCaAndNameTheirIdentities(@TempDir Path dir) throws Exception {
        TestPki.Files f = TestPki.generate(dir.resolve("pki"));
        X509Certificate ca = cert(f.ca());
        X509Certificate server = cert(f.serverCert());
        X509Certificate client = cert(f.clientCert());

        ca.verify(ca.getPublicKey());
        server.verify(ca.getPublicKey());
        client.verify(ca.getPublicKey());
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(server.getBasicConstraints()).isEqualTo(-1);
        server.checkValidity();

        assertThat(server.getSubjectAlternativeNames()).contains(
                List.of(2, "localhost"), List.of(7, "127.0.0.1"), List.of(6, TestPki.SERVER_SPIFFE_ID));
        assertThat(client.getSubjectAlternativeNames()).contains(List.of(6, TestPki.CLIENT_SPIFFE_ID));
        assertThat(server.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(client.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");

        // each key belongs to its certificate
        for (Path[] pair : new Path[][] {{f.serverCert(), f.serverKey()}, {f.clientCert(), f.clientKey()}}) {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key(pair[1]));
            s.update(new byte[] {1, 2, 3});
            byte[] sig = s.sign();
            s.initVerify(cert(pair[0]).getPublicKey());
            s.update(new byte[] {1, 2, 3});
            assertThat(s.verify(sig)).isTrue();
        }
        assertThat(Files.readString(f.serverBundle())).contains("BEGIN CERTIFICATE", "BEGIN PRIVATE KEY");
        assertThat(Files.readString(f.clientBundle())).contains("BEGIN CERTIFICATE", "BEGIN PRIVATE KEY");
    }
}
