package dev.trellis.sidecar.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.RSAPublicKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo JWT verifies with nothing but the published JWKS, and carries the claims the gateway checks. */
class DemoKeysTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Base64.Decoder B64 = Base64.getUrlDecoder();

    @Test
    void tokenVerifiesWithTheJwksAndCarriesIssuerAudienceAndExpiry() throws Exception {
        DemoKeys keys = DemoKeys.generate();
        Instant now = Instant.parse("2026-12-02T03:00:00Z");
        String jwt = keys.token("https://demo.trellis.local", List.of("trellis-demo"), "demo-user", now, Duration.ofHours(12));

        JsonNode jwk = JSON.readTree(keys.jwks()).path("keys").get(0);
        assertThat(jwk.path("kty").asText()).isEqualTo("RSA");
        assertThat(jwk.path("alg").asText()).isEqualTo("RS256");
        PublicKey pub = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(
                new BigInteger(1, B64.decode(jwk.path("n").asText())), new BigInteger(1, B64.decode(jwk.path("e").asText()))));
        String[] parts = jwt.split("\\.");
        assertThat(parts).hasSize(3);
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initVerify(pub);
        s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        assertThat(s.verify(B64.decode(parts[2]))).isTrue();

        JsonNode header = JSON.readTree(B64.decode(parts[0]));
        assertThat(header.path("alg").asText()).isEqualTo("RS256");
        assertThat(header.path("kid").asText()).isEqualTo(jwk.path("kid").asText()).isEqualTo(keys.keyId());
        JsonNode claims = JSON.readTree(B64.decode(parts[1]));
        assertThat(claims.path("iss").asText()).isEqualTo("https://demo.trellis.local");
        assertThat(claims.path("aud").get(0).asText()).isEqualTo("trellis-demo");
        assertThat(claims.path("sub").asText()).isEqualTo("demo-user");
        assertThat(claims.path("exp").asLong()).isEqualTo(now.plus(Duration.ofHours(12)).getEpochSecond());
        assertThat(claims.path("nbf").asLong()).isEqualTo(now.getEpochSecond());
    }

    @Test
    void aTamperedTokenOrAnotherKeysTokenDoesNotVerify() {
        DemoKeys keys = DemoKeys.generate();
        String jwt = keys.token("i", List.of("a"), "s", Instant.now(), Duration.ofMinutes(5));
        assertThat(keys.verifies(jwt)).isTrue();
        String[] p = jwt.split("\\.");
        String forged = p[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString("{\"sub\":\"admin\"}".getBytes(StandardCharsets.UTF_8)) + "." + p[2];
        assertThat(keys.verifies(forged)).isFalse();
        assertThat(DemoKeys.generate().verifies(jwt)).isFalse();
    }

    @Test
    void portsStayInTheirRangeAndNeverCollide() {
        DemoPorts p = new DemoPorts(15012, 15014, 8443, 15100);
        java.util.Set<Integer> all = new java.util.HashSet<>(List.of(p.controlPlane(), p.controlPlaneAdmin(), p.gateway(), p.gatewayAdmin(),
                p.notificationHttp()));
        int count = 5;
        for (int i = 1; i <= DemoPorts.USER_INSTANCES; i++) {
            all.add(p.userHttp(i));
            all.add(p.userGrpc(i));
            count += 2;
        }
        for (int slot = 1; slot <= p.notificationSlot(); slot++) {
            all.addAll(List.of(p.sidecarAdmin(slot), p.sidecarInbound(slot), p.sidecarOutbound(slot), p.upstreamPort(slot)));
            count += 4;
        }
        assertThat(all).hasSize(count).allMatch(port -> port == 15012 || port == 15014 || port == 8443 || (port > 15100 && port < 15200));
    }
}
