package dev.trellis.sidecar.testing;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;

/** Keys and tokens for JWT tests: RSA, EC P-256, Ed25519 (signed with the JDK) and HMAC. */
public final class Jwts {
    public final RSAKey rsa;
    public final ECKey ec;
    public final OctetKeyPair ed;
    private final KeyPair edPair;
    public final OctetSequenceKey hmac;

    public Jwts(String prefix) throws Exception {
        rsa = new RSAKeyGenerator(2048).keyID(prefix + "-rsa").generate();
        ec = new ECKeyGenerator(Curve.P_256).keyID(prefix + "-ec").generate();
        edPair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        byte[] spki = edPair.getPublic().getEncoded();
        byte[] x = Arrays.copyOfRange(spki, spki.length - 32, spki.length);
        ed = new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(x)).keyID(prefix + "-ed").build();
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        hmac = new OctetSequenceKey.Builder(secret).keyID(prefix + "-hs").build();
    }

    /** The public keys (and, when {@code withSecret}, the HMAC secret) as a JWKS document. */
    public String jwks(boolean withSecret) {
        List<JWK> keys = withSecret ? List.of(rsa.toPublicJWK(), ec.toPublicJWK(), ed, hmac)
                : List.of(rsa.toPublicJWK(), ec.toPublicJWK(), ed);
        return new JWKSet(keys).toString(false);
    }

    public static JWTClaimsSet.Builder claims(String iss, String aud, String sub, Instant exp) {
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder().issuer(iss).subject(sub).issueTime(new Date());
        if (aud != null) {
            b.audience(aud);
        }
        if (exp != null) {
            b.expirationTime(Date.from(exp));
        }
        return b;
    }

    public String rs256(JWTClaimsSet c) throws Exception {
        return sign(new RSASSASigner(rsa), JWSAlgorithm.RS256, rsa.getKeyID(), c);
    }

    public String es256(JWTClaimsSet c) throws Exception {
        return sign(new ECDSASigner(ec), JWSAlgorithm.ES256, ec.getKeyID(), c);
    }

    public String hs256(JWTClaimsSet c) throws Exception {
        return sign(new MACSigner(hmac), JWSAlgorithm.HS256, hmac.getKeyID(), c);
    }

    /** The key-confusion attack: HS256 with the RSA public key's bytes as the secret, naming the RSA kid. */
    public String hs256WithRsaPublicKey(JWTClaimsSet c) throws Exception {
        return sign(new MACSigner(rsa.toRSAPublicKey().getEncoded()), JWSAlgorithm.HS256, rsa.getKeyID(), c);
    }

    /** EdDSA signed with the JDK's Ed25519. */
    public String eddsa(JWTClaimsSet c) throws Exception {
        String header = Base64URL.encode(("{\"alg\":\"EdDSA\",\"kid\":\"" + ed.getKeyID() + "\"}").getBytes(StandardCharsets.UTF_8)).toString();
        String payload = Base64URL.encode(c.toString().getBytes(StandardCharsets.UTF_8)).toString();
        Signature s = Signature.getInstance("Ed25519");
        s.initSign(edPair.getPrivate());
        s.update((header + "." + payload).getBytes(StandardCharsets.US_ASCII));
        return header + "." + payload + "." + Base64URL.encode(s.sign());
    }

    /** An unsecured token ({@code alg: none}). */
    public static String none(JWTClaimsSet c) {
        String header = Base64URL.encode("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)).toString();
        return header + "." + Base64URL.encode(c.toString().getBytes(StandardCharsets.UTF_8)) + ".";
    }

    /** Same header and payload, a signature of another token: a bad signature. */
    public static String withSignatureOf(String token, String other) {
        return token.substring(0, token.lastIndexOf('.')) + other.substring(other.lastIndexOf('.'));
    }

    private static String sign(JWSSigner signer, JWSAlgorithm alg, String kid, JWTClaimsSet c) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).type(JOSEObjectType.JWT).build(), c);
        jwt.sign(signer);
        return jwt.serialize();
    }
}
