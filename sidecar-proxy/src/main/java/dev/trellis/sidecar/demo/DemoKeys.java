package dev.trellis.sidecar.demo;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.security.SecureRandom;

/**
 * The demo's JWT signing key, made fresh on every start: an RSA key whose public half the gateway
 * reads as a JWKS file, and RS256 tokens signed with it. Nothing of it outlives the demo.
 */
public final class DemoKeys {
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private final KeyPair pair;
    private final String keyId;

    private DemoKeys(KeyPair pair, String keyId) {
        this.pair = pair;
        this.keyId = keyId;
    }

    /** A new 2048-bit RSA key with a random key id. */
    public static DemoKeys generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            byte[] id = new byte[8];
            new SecureRandom().nextBytes(id);
            return new DemoKeys(g.generateKeyPair(), "demo-" + HexFormat.of().formatHex(id));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RSA key generation: " + e.getMessage(), e);
        }
    }

    public String keyId() {
        return keyId;
    }

    /** The public key as a JWKS document (RFC 7517). */
    public String jwks() {
        RSAPublicKey pub = (RSAPublicKey) pair.getPublic();
        return "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"" + keyId + "\",\"n\":\""
                + B64.encodeToString(unsigned(pub.getModulus())) + "\",\"e\":\""
                + B64.encodeToString(unsigned(pub.getPublicExponent())) + "\"}]}";
    }

    /** An RS256 JWT for {@code subject}, valid from now for {@code ttl}. */
    public String token(String issuer, List<String> audiences, String subject, Instant now, Duration ttl) {
        String header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" + keyId + "\"}";
        StringBuilder aud = new StringBuilder("[");
        for (String a : audiences) {
            aud.append(aud.length() > 1 ? "," : "").append('"').append(json(a)).append('"');
        }
        aud.append(']');
        String claims = "{\"iss\":\"" + json(issuer) + "\",\"sub\":\"" + json(subject) + "\",\"aud\":" + aud
                + ",\"iat\":" + now.getEpochSecond() + ",\"nbf\":" + now.getEpochSecond()
                + ",\"exp\":" + now.plus(ttl).getEpochSecond() + "}";
        String signingInput = B64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
        try {
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initSign(pair.getPrivate());
            s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            return signingInput + "." + B64.encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("RS256 signature: " + e.getMessage(), e);
        }
    }

    /** Verifies an RS256 token's signature with this key (for tests and sanity checks). */
    public boolean verifies(String token) {
        String[] parts = token.split("\\.");
        if (parts.length != 3) {
            return false;
        }
        try {
            Signature s = Signature.getInstance("SHA256withRSA");
            s.initVerify(pair.getPublic());
            s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            return s.verify(Base64.getUrlDecoder().decode(parts[2]));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private static byte[] unsigned(BigInteger v) {
        byte[] b = v.toByteArray();
        if (b.length > 1 && b[0] == 0) {
            byte[] t = new byte[b.length - 1];
            System.arraycopy(b, 1, t, 0, t.length);
            return t;
        }
        return b;
    }

    private static String json(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
