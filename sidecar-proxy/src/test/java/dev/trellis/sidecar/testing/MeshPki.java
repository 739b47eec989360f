package dev.trellis.sidecar.testing;

import dev.trellis.certs.CertificateAuthority;
import dev.trellis.certs.CertificateRequest;
import dev.trellis.certs.KeyPairs;
import dev.trellis.certs.Pem;
import dev.trellis.certs.SpiffeId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** The mesh CA (certs module) in a temp dir under target/, issuing X509-SVIDs as PEM files. */
public final class MeshPki {
    public static final String TRUST_DOMAIN = "test.local";
    public final Path dir;
    public final CertificateAuthority ca;

    public MeshPki() throws IOException {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target", "pki")), "mesh");
        ca = CertificateAuthority.builder(TRUST_DOMAIN).directory(dir).build();
    }

    /** The trust bundle file. */
    public Path bundle() {
        return dir.resolve(CertificateAuthority.BUNDLE_FILE);
    }

    public static String spiffe(String service) {
        return SpiffeId.of(TRUST_DOMAIN, "default", service).toString();
    }

    /** An SVID for {@code service} signed from a CSR, as {cert chain, key} files. */
    public Path[] svid(String service) throws IOException {
        KeyPair kp = KeyPairs.ecP256();
        SpiffeId id = SpiffeId.of(TRUST_DOMAIN, "default", service);
        List<X509Certificate> chain = ca.signWorkload(CertificateRequest.create(kp, id), id);
        Path cert = dir.resolve(service + ".pem");
        Path key = dir.resolve(service + "-key.pem");
        Files.writeString(cert, Pem.encodeCertificates(chain));
        Files.writeString(key, Pem.encodePrivateKey(kp.getPrivate()));
        return new Path[] {cert, key};
    }

    /**
     * A server SVID for {@code service} that also names DNS {@code localhost}: Netty 4.2 clients
     * verify the host name unless told otherwise, and the mesh's SAN-only verification is the
     * certificate wiring's business, not these tests'.
     */
    public Path[] serverSvid(String service) throws IOException, java.security.GeneralSecurityException {
        KeyPair kp = KeyPairs.ecP256();
        java.time.Instant now = java.time.Instant.now();
        X509Certificate leaf = new dev.trellis.certs.internal.CertificateBuilder().subject("O=" + TRUST_DOMAIN)
                .publicKey(kp.getPublic())
                .issuer(ca.signingCertificate(), Pem.readPrivateKey(dir.resolve(CertificateAuthority.KEY_FILE)))
                .validity(now.minusSeconds(60), now.plus(java.time.Duration.ofHours(1)))
                .serverAuth().clientAuth().dns("localhost").uri(spiffe(service)).build();
        Path cert = dir.resolve(service + "-server.pem");
        Path key = dir.resolve(service + "-server-key.pem");
        Files.writeString(cert, Pem.encodeCertificates(List.of(leaf)));
        Files.writeString(key, Pem.encodePrivateKey(kp.getPrivate()));
        return new Path[] {cert, key};
    }

    /** A JDK client context presenting {@code svid} (or no certificate when null) and trusting the bundle. */
    public SSLContext clientContext(Path[] svid) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (X509Certificate c : Pem.readCertificates(bundle())) {
            trust.setCertificateEntry("root" + i++, c);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (svid != null) {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("svid", Pem.readPrivateKey(svid[1]), new char[0],
                    Pem.readCertificates(svid[0]).toArray(new Certificate[0]));
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
        }
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }
}
