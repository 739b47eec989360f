package dev.trellis.sidecar.filter.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.trellis.sidecar.testing.Jwts;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class JwtVerifierTest {
    static Jwts keys;
    static JWKSet publicKeys;
    static JWKSet withSecret;
    static final long NOW = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
    static final Instant EXP = Instant.ofEpochMilli(NOW).plusSeconds(600);
    static final JwtAuthnConfig.Provider P = provider(Duration.ofSeconds(30));

    static JwtAuthnConfig.Provider provider(Duration skew) {
        return new JwtAuthnConfig.Provider("p", Optional.of("https://issuer"), List.of("api"),
                new JwtAuthnConfig.LocalJwks("{}", "test"), false, List.of(), Optional.empty(), List.of(), skew, false);
    }

    @BeforeAll
    static void keys() throws Exception {
        keys = new Jwts("k1");
        publicKeys = JWKSet.parse(keys.jwks(false));
        withSecret = JWKSet.parse(keys.jwks(true));
    }

    static JWTClaimsSet good() {
        return Jwts.claims("https://issuer", "api", "alice", EXP).build();
    }

    static JwtVerifier.Result check(String token, JWKSet set) {
        return JwtVerifier.verify(token, P, null, set, NOW);
    }

    static String reason(JwtVerifier.Result r) {
        assertThat(r).isInstanceOf(JwtVerifier.Failed.class);
        return ((JwtVerifier.Failed) r).reason();
    }

    @Test
    void acceptsEachSupportedAlgorithm() throws Exception {
        for (String t : List.of(keys.rs256(good()), keys.es256(good()), keys.eddsa(good()))) {
            JwtVerifier.Result r = check(t, publicKeys);
            assertThat(r).isInstanceOf(JwtVerifier.Verified.class);
            assertThat(((JwtVerifier.Verified) r).claims().getSubject()).isEqualTo("alice");
        }
        assertThat(check(keys.hs256(good()), withSecret)).isInstanceOf(JwtVerifier.Verified.class);
    }

    @Test
    void hs256NeedsAnExplicitSecret() throws Exception {
        assertThat(reason(check(keys.hs256(good()), publicKeys))).isEqualTo("Jwks doesn't have key to match kid or alg from Jwt");
    }

    @Test
    void hs256SignedWithTheRsaPublicKeyIsRefused() throws Exception {
        String forged = keys.hs256WithRsaPublicKey(good());
        assertThat(reason(check(forged, publicKeys))).isEqualTo("Jwks doesn't have key to match kid or alg from Jwt");
        assertThat(reason(check(forged, withSecret))).isEqualTo("Jwks doesn't have key to match kid or alg from Jwt");
    }

    @Test
    void algNoneIsRefused() {
        assertThat(reason(check(Jwts.none(good()), publicKeys))).isEqualTo("Jwt algorithm 'none' is not allowed");
    }

    @Test
    void expiredAndNotYetValidHonourTheClockSkew() throws Exception {
        Instant now = Instant.ofEpochMilli(NOW);
        assertThat(reason(check(keys.rs256(Jwts.claims("https://issuer", "api", "a", now.minusSeconds(31)).build()), publicKeys)))
                .isEqualTo("Jwt is expired");
        assertThat(check(keys.rs256(Jwts.claims("https://issuer", "api", "a", now.minusSeconds(29)).build()), publicKeys))
                .isInstanceOf(JwtVerifier.Verified.class);
        JWTClaimsSet early = Jwts.claims("https://issuer", "api", "a", EXP).notBeforeTime(Date.from(now.plusSeconds(31))).build();
        assertThat(reason(check(keys.rs256(early), publicKeys))).isEqualTo("Jwt not yet valid");
        JWTClaimsSet almost = Jwts.claims("https://issuer", "api", "a", EXP).notBeforeTime(Date.from(now.plusSeconds(29))).build();
        assertThat(check(keys.rs256(almost), publicKeys)).isInstanceOf(JwtVerifier.Verified.class);
    }

    @Test
    void wrongIssuerAndAudience() throws Exception {
        assertThat(reason(check(keys.rs256(Jwts.claims("https://other", "api", "a", EXP).build()), publicKeys)))
                .isEqualTo("Jwt issuer is not configured");
        assertThat(reason(check(keys.rs256(Jwts.claims("https://issuer", "web", "a", EXP).build()), publicKeys)))
                .isEqualTo("Audiences in Jwt are not allowed");
        assertThat(JwtVerifier.verify(keys.rs256(Jwts.claims("https://issuer", "web", "a", EXP).build()), P, List.of("web"),
                publicKeys, NOW)).isInstanceOf(JwtVerifier.Verified.class);
    }

    @Test
    void badSignature() throws Exception {
        String a = keys.rs256(good());
        String b = keys.rs256(Jwts.claims("https://issuer", "api", "mallory", EXP).build());
        assertThat(reason(check(Jwts.withSignatureOf(b, a), publicKeys))).isEqualTo("Jwt verification fails");
    }

    @Test
    void unknownKidIsFlaggedForARefetch() throws Exception {
        Jwts other = new Jwts("k2");
        JwtVerifier.Result r = check(other.rs256(good()), publicKeys);
        assertThat(((JwtVerifier.Failed) r).unknownKid()).isTrue();
        assertThat(((JwtVerifier.Failed) check(keys.rs256(good()).replace('.', '!'), publicKeys)).unknownKid()).isFalse();
    }

    @Test
    void malformedTokens() {
        assertThat(reason(check("abc", publicKeys))).contains("Header.Payload.Signature");
        assertThat(reason(check("!!!.e30.sig", publicKeys))).isEqualTo("Jwt header is an invalid JSON");
    }
}
