package dev.trellis.certs.internal;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;

/** Small helpers over {@link X509Certificate}. */
public final class X509s {
    private static final int SAN_URI = 6;

    private X509s() {}

    /** The URI subject alternative names, in certificate order. */
    public static List<String> uriSans(X509Certificate cert) {
        return sansOfType(cert, SAN_URI);
    }

    public static List<String> sansOfType(X509Certificate cert, int type) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("certificate '" + subject(cert) + "': unreadable subject alternative names", e);
        }
        List<String> out = new ArrayList<>();
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && san.get(0) instanceof Integer t && t == type) {
                    out.add(String.valueOf(san.get(1)));
                }
            }
        }
        return out;
    }

    public static boolean isCa(X509Certificate cert) {
        return cert.getBasicConstraints() >= 0;
    }

    public static boolean isSelfSigned(X509Certificate cert) {
        if (!cert.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
            return false;
        }
        try {
            cert.verify(cert.getPublicKey());
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    public static String subject(X509Certificate cert) {
        return cert.getSubjectX500Principal().getName();
    }

    /** Lower-case hex SHA-256 of the DER encoding. */
    public static String sha256(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Lower-case hex SHA-256 of arbitrary bytes. */
    public static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
