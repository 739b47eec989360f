package dev.trellis.sidecar.filter.jwt;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.Provider;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * Checks one compact JWS token against one provider and its key set. Only RS256, ES256 (P-256),
 * EdDSA (Ed25519) and HS256 are accepted; {@code alg: none} and JWE are refused, and a key is used
 * only for the algorithm family of its type, so an HS256 token can never be checked with an RSA or
 * EC public key (key-type confusion). HS256 needs an {@code oct} key in the provider's own JWKS.
 */
public final class JwtVerifier {
    private static final Set<JWSAlgorithm> ALLOWED = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256, JWSAlgorithm.EdDSA,
            JWSAlgorithm.HS256);
    /** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32-byte key follows. */
    private static final byte[] ED25519_SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

    private JwtVerifier() {}

    /** The outcome of a check. */
    public sealed interface Result permits Verified, Failed {}

    /** A valid token: its claims and its payload as sent (base64url). */
    public record Verified(JWTClaimsSet claims, String payload) implements Result {}

    /**
     * An invalid token, with Envoy's wording of why. {@code unknownKid} is set when the token names a
     * {@code kid} the key set does not have (a refetch of a remote key set may help).
     */
    public record Failed(String reason, boolean unknownKid) implements Result {}

    /** The token's {@code kid}, or {@code null} when it has none or is malformed. */
    public static String kid(String token) {
        int dot = token.indexOf('.');
        if (dot <= 0) {
            return null;
        }
        try {
            Header h = Header.parse(new Base64URL(token.substring(0, dot)));
            return h instanceof JWSHeader j ? j.getKeyID() : null;
        } catch (ParseException e) {
            return null;
        }
    }

    /**
     * Checks {@code token}. {@code audiences} replaces the provider's audiences when not null;
     * {@code nowMillis} is the wall clock.
     */
    public static Result verify(String token, Provider p, List<String> audiences, JWKSet keys, long nowMillis) {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty()) {
            return new Failed("Jwt is not in the form of Header.Payload.Signature", false);
        }
        JWSHeader header;
        try {
            Header h = Header.parse(new Base64URL(parts[0]));
            if (h.getAlgorithm() == null || Algorithm.NONE.equals(h.getAlgorithm())) {
                return new Failed("Jwt algorithm 'none' is not allowed", false);
            }
            if (!(h instanceof JWSHeader j)) {
                return new Failed("Jwt is not a signed token (JWS)", false);
            }
            header = j;
        } catch (ParseException e) {
            return new Failed("Jwt header is an invalid JSON", false);
        }
        JWSAlgorithm alg = header.getAlgorithm();
        if (!ALLOWED.contains(alg)) {
            return new Failed("Jwt algorithm '" + alg + "' is not allowed (expected: RS256, ES256, EdDSA or HS256)", false);
        }
        if (parts[2].isEmpty()) {
            return new Failed("Jwt has no signature", false);
        }
        JWTClaimsSet claims;
        try {
            claims = JWTClaimsSet.parse(new Base64URL(parts[1]).decodeToString());
        } catch (ParseException e) {
            return new Failed("Jwt payload is an invalid JSON", false);
        }
        if (p.issuer().isPresent() && !p.issuer().get().equals(claims.getIssuer())) {
            return new Failed("Jwt issuer is not configured", false);
        }
        long skew = p.clockSkew().toMillis();
        Date exp = claims.getExpirationTime();
        if (exp == null && p.requireExpiration()) {
            return new Failed("Jwt has no exp", false);
        }
        if (exp != null && nowMillis > exp.getTime() + skew) {
            return new Failed("Jwt is expired", false);
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && nowMillis + skew < nbf.getTime()) {
            return new Failed("Jwt not yet valid", false);
        }
        List<String> allowed = audiences != null ? audiences : p.audiences();
        if (!allowed.isEmpty()) {
            List<String> aud = claims.getAudience();
            if (aud == null || aud.stream().noneMatch(allowed::contains)) {
                return new Failed("Audiences in Jwt are not allowed", false);
            }
        }
        List<JWK> candidates = candidates(keys, header);
        if (candidates.isEmpty()) {
            boolean unknownKid = header.getKeyID() != null && (keys == null || keys.getKeyByKeyId(header.getKeyID()) == null);
            return new Failed("Jwks doesn't have key to match kid or alg from Jwt", unknownKid || keys == null);
        }
        byte[] signingInput = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        Base64URL signature = new Base64URL(parts[2]);
        for (JWK k : candidates) {
            if (verifies(k, header, signingInput, signature)) {
                return new Verified(claims, parts[1]);
            }
        }
        return new Failed("Jwt verification fails", false);
    }

    /** Keys of the type (and curve) that {@code alg} needs, with a matching kid and alg when they have one. */
    static List<JWK> candidates(JWKSet keys, JWSHeader header) {
        List<JWK> out = new ArrayList<>();
        if (keys == null) {
            return out;
        }
        JWSAlgorithm alg = header.getAlgorithm();
        String kid = header.getKeyID();
        for (JWK k : keys.getKeys()) {
            if (kid != null && k.getKeyID() != null && !kid.equals(k.getKeyID())) {
                continue;
            }
            if (k.getAlgorithm() != null && !k.getAlgorithm().equals(alg)) {
                continue;
            }
            if (k.getKeyUse() != null && !KeyUse.SIGNATURE.equals(k.getKeyUse())) {
                continue;
            }
            boolean typeOk = (JWSAlgorithm.RS256.equals(alg) && k instanceof RSAKey)
                    || (JWSAlgorithm.ES256.equals(alg) && k instanceof ECKey ec && Curve.P_256.equals(ec.getCurve()))
                    || (JWSAlgorithm.EdDSA.equals(alg) && k instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve()))
                    || (JWSAlgorithm.HS256.equals(alg) && k instanceof OctetSequenceKey);
            if (typeOk) {
                out.add(k);
            }
        }
        return out;
    }

    private static boolean verifies(JWK k, JWSHeader header, byte[] signingInput, Base64URL signature) {
        try {
            if (k instanceof OctetKeyPair okp) {
                return ed25519(okp, signingInput, signature.decode());
            }
            JWSVerifier v;
            if (k instanceof RSAKey rsa) {
                v = new RSASSAVerifier(rsa.toRSAPublicKey());
            } else if (k instanceof ECKey ec) {
                v = new ECDSAVerifier(ec.toECPublicKey());
            } else if (k instanceof OctetSequenceKey oct) {
                v = new MACVerifier(oct.toByteArray());
            } else {
                return false;
            }
            return v.verify(header, signingInput, signature);
        } catch (JOSEException | GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /** EdDSA with the JDK's own Ed25519 (nimbus would need Tink for it). */
    private static boolean ed25519(OctetKeyPair okp, byte[] input, byte[] sig) throws GeneralSecurityException {
        byte[] x = okp.getX().decode();
        if (x.length != 32) {
            return false;
        }
        byte[] spki = new byte[ED25519_SPKI_PREFIX.length + 32];
        System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
        System.arraycopy(x, 0, spki, ED25519_SPKI_PREFIX.length, 32);
        PublicKey pk = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        Signature s = Signature.getInstance("Ed25519");
        s.initVerify(pk);
        s.update(input);
        return s.verify(sig);
    }
}
