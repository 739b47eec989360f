package dev.trellis.sidecar.testing;

import dev.trellis.certs.KeyPairs;
import dev.trellis.certs.Pem;
import dev.trellis.certs.internal.CertificateBuilder;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** A throwaway CA and leaf certificates written as PEM files under target/ (never committed). */
public final class TestPki {
    public final Path dir;
    public final X509Certificate caCert;
    private final KeyPair caKey;

    public TestPki() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target", "pki")), "pki");
        caKey = KeyPairs.ecP256();
        Instant now = Instant.now();
        caCert = new CertificateBuilder().subject("CN=test-ca").publicKey(caKey.getPublic()).selfSigned(caKey.getPrivate())
                .validity(now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(1))).ca(1).build();
        Files.writeString(ca(), Pem.encodeCertificate(caCert));
    }

    public Path ca() {
        return dir.resolve("ca.pem");
    }

    /** Issues a leaf with DNS localhost, IP 127.0.0.1 and the given URI SAN; returns {cert, key} paths. */
    public Path[] leaf(String name, String uriSan) throws Exception {
        KeyPair kp = KeyPairs.ecP256();
        Instant now = Instant.now();
        X509Certificate c = new CertificateBuilder().subject("CN=" + name).publicKey(kp.getPublic())
                .issuer(caCert, caKey.getPrivate()).validity(now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(1)))
                .serverAuth().clientAuth().dns("localhost").ip(InetAddress.getLoopbackAddress()).uri(uriSan).build();
        Path cert = dir.resolve(name + ".pem");
        Path key = dir.resolve(name + "-key.pem");
        Files.writeString(cert, Pem.encodeCertificates(List.of(c)));
        Files.writeString(key, Pem.encodePrivateKey(kp.getPrivate()));
        return new Path[] {cert, key};
    }

    /** A JDK server SSLContext with a fresh leaf (DNS localhost, IP 127.0.0.1) from this CA. */
    public SSLContext serverContext(String name) throws Exception {
        KeyPair kp = KeyPairs.ecP256();
        Instant now = Instant.now();
        X509Certificate c = new CertificateBuilder().subject("CN=" + name).publicKey(kp.getPublic())
                .issuer(caCert, caKey.getPrivate()).validity(now.minus(Duration.ofMinutes(5)), now.plus(Duration.ofDays(1)))
                .serverAuth().dns("localhost").ip(InetAddress.getLoopbackAddress()).build();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("leaf", kp.getPrivate(), new char[0], new java.security.cert.Certificate[] {c, caCert});
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    /** A JDK SSLContext that trusts only this CA. */
    public SSLContext clientContext() throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setCertificateEntry("ca", caCert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
