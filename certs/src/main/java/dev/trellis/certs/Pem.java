package dev.trellis.certs;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * PEM encoding and decoding of certificates, private keys and CSRs.
 *
 * <p>Decoding accepts PKCS#8 ({@code PRIVATE KEY}), SEC 1 ({@code EC PRIVATE KEY}) and PKCS#1
 * ({@code RSA PRIVATE KEY}) keys; encrypted keys are refused. Encoding writes PKCS#8.
 */
public final class Pem {
    private Pem() {}

    public static String encode(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    public static String encodeCertificates(List<X509Certificate> certificates) {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate cert : certificates) {
            try {
                sb.append(encode("CERTIFICATE", cert.getEncoded()));
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalArgumentException("certificate '" + cert.getSubjectX500Principal() + "' cannot be encoded", e);
            }
        }
        return sb.toString();
    }

    public static String encodeCertificate(X509Certificate certificate) {
        return encodeCertificates(List.of(certificate));
    }

    public static String encodePrivateKey(PrivateKey key) {
        if (!"PKCS#8".equals(key.getFormat())) {
            throw new IllegalArgumentException("private key format '" + key.getFormat() + "' (expected: PKCS#8)");
        }
        return encode("PRIVATE KEY", key.getEncoded());
    }

    /**
     * Every certificate in {@code pem}, in file order.
     *
     * @throws IllegalArgumentException when the text holds no certificate or something else than certificates
     */
    public static List<X509Certificate> decodeCertificates(String pem) {
        List<X509Certificate> certs = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        for (Object o : readAll(pem, "certificates")) {
            if (!(o instanceof X509CertificateHolder holder)) {
                throw new IllegalArgumentException("PEM block of type " + o.getClass().getSimpleName() + " (expected: CERTIFICATE)");
            }
            try {
                certs.add(converter.getCertificate(holder));
            } catch (CertificateException e) {
                throw new IllegalArgumentException("unreadable certificate in PEM: " + e.getMessage(), e);
            }
        }
        if (certs.isEmpty()) {
            throw new IllegalArgumentException("no CERTIFICATE block in PEM (expected: at least one)");
        }
        return List.copyOf(certs);
    }

    /** The one private key in {@code pem}. */
    public static PrivateKey decodePrivateKey(String pem) {
        List<Object> objects = readAll(pem, "private key");
        if (objects.size() != 1) {
            throw new IllegalArgumentException(objects.size() + " PEM blocks (expected: exactly one private key)");
        }
        Object o = objects.get(0);
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try {
            if (o instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            if (o instanceof PEMKeyPair pair) {
                return converter.getKeyPair(pair).getPrivate();
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("unreadable private key: " + e.getMessage(), e);
        }
        if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
            throw new IllegalArgumentException("private key is encrypted (expected: an unencrypted PKCS#8, SEC 1 or PKCS#1 key)");
        }
        throw new IllegalArgumentException("PEM block of type " + o.getClass().getSimpleName() + " (expected: PRIVATE KEY)");
    }

    static PKCS10CertificationRequest decodeCsr(String pem) {
        List<Object> objects = readAll(pem, "CSR");
        if (objects.size() != 1 || !(objects.get(0) instanceof PKCS10CertificationRequest csr)) {
            throw new IllegalArgumentException("PEM does not hold exactly one CERTIFICATE REQUEST");
        }
        return csr;
    }

    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        try {
            return decodeCertificates(Files.readString(file, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    public static PrivateKey readPrivateKey(Path file) throws IOException {
        try {
            return decodePrivateKey(Files.readString(file, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static List<Object> readAll(String pem, String what) {
        List<Object> out = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                out.add(o);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed PEM (expected: " + what + "): " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no PEM block found (expected: " + what + ")");
        }
        return out;
    }
}
