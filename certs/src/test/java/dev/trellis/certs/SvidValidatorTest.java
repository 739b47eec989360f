package dev.trellis.certs;

import static dev.trellis.certs.TestPki.NOTIFY;
import static dev.trellis.certs.TestPki.TD;
import static dev.trellis.certs.TestPki.USER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

import dev.trellis.certs.SvidValidationException.Reason;
import dev.trellis.certs.SvidValidator.PeerRole;
import dev.trellis.certs.internal.CertificateBuilder;

/** Each X509-SVID rule on its own (the handshake tests show the same refusals over real TLS). */
class SvidValidatorTest {
    private final MutableClock clock = MutableClock.startingNow();
    private final TestPki pki = new TestPki(clock);
    private final SvidValidator validator = new SvidValidator(pki.bundle(), clock);

    private void assertRefused(List<X509Certificate> chain, PeerRole role, Set<SpiffeId> allowed, Reason reason, String message) {
        assertThatThrownBy(() -> validator.validate(chain, role, allowed))
                .isInstanceOfSatisfying(SvidValidationException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageStartingWith(reason.label() + ": ")
                .hasMessageContaining(message);
    }

    private List<X509Certificate> crafted(Consumer<CertificateBuilder> shape) {
        return pki.crafted(shape).chain();
    }

    @Test
    void acceptsAWorkloadAndReturnsItsId() throws Exception {
        CertifiedKey key = pki.workload(USER);
        assertThat(validator.validate(key.chain(), PeerRole.CLIENT)).isEqualTo(USER);
        assertThat(validator.validate(key.chain(), PeerRole.SERVER, Set.of(USER, NOTIFY))).isEqualTo(USER);
        List<X509Certificate> withRoot = new ArrayList<>(key.chain());
        withRoot.add(pki.root.cert());
        assertThat(validator.validate(withRoot, PeerRole.CLIENT)).as("an appended root is ignored").isEqualTo(USER);
    }

    @Test
    void refusesEachBrokenRuleWithItsOwnReason() {
        String user = USER.toString();
        assertRefused(List.of(), PeerRole.CLIENT, Set.of(), Reason.EMPTY_CHAIN, "peer sent no certificate");
        assertRefused(new TestPki(clock, TestPki.Root.create("Stranger", TD)).workload(USER).chain(), PeerRole.CLIENT, Set.of(),
                Reason.UNKNOWN_CA, "is issued by 'CN=Stranger,O=trellis.local', which is not a root of trust domain 'trellis.local'");
        assertRefused(crafted(b -> b.uri(user).validity(clock.instant().minus(Duration.ofDays(2)), clock.instant().minusSeconds(1))),
                PeerRole.CLIENT, Set.of(), Reason.EXPIRED, "expired at " + clock.instant().minusSeconds(1));
        assertRefused(crafted(b -> b.uri(user).validity(clock.instant().plusSeconds(30), clock.instant().plus(Duration.ofDays(1)))),
                PeerRole.CLIENT, Set.of(), Reason.NOT_YET_VALID, "is valid from " + clock.instant().plusSeconds(30));
        assertRefused(crafted(b -> b.uri(user).ca(-1)), PeerRole.CLIENT, Set.of(), Reason.LEAF_IS_CA, "CA=true (expected: CA=false)");
        assertRefused(List.of(pki.root.cert()), PeerRole.CLIENT, Set.of(), Reason.LEAF_IS_CA, "is a root of the trust bundle");
        assertRefused(crafted(b -> b.dns("user-service")), PeerRole.CLIENT, Set.of(), Reason.NO_URI_SAN, "has no URI SAN");
        assertRefused(crafted(b -> b.uri(user).uri(NOTIFY.toString())), PeerRole.CLIENT, Set.of(), Reason.MULTIPLE_URI_SANS,
                "has 2 URI SANs [" + user + ", " + NOTIFY + "] (expected: exactly one)");
        assertRefused(crafted(b -> b.uri("https://user-service.example")), PeerRole.CLIENT, Set.of(), Reason.NOT_SPIFFE_ID,
                "scheme 'https' (expected: spiffe)");
        assertRefused(crafted(b -> b.uri("spiffe://evil.example/ns/default/sa/user-service")), PeerRole.CLIENT, Set.of(),
                Reason.WRONG_TRUST_DOMAIN, "(expected: trust domain 'trellis.local')");
        assertRefused(crafted(b -> b.uri(user).keyUsage(KeyUsage.keyEncipherment)), PeerRole.CLIENT, Set.of(),
                Reason.BAD_KEY_USAGE, "lacks digitalSignature");
        assertRefused(crafted(b -> b.uri(user).keyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign)), PeerRole.CLIENT, Set.of(),
                Reason.BAD_KEY_USAGE, "keyCertSign");
        List<X509Certificate> serverOnly = pki.ca.issueServerCertificate(KeyPairs.ecP256().getPublic(), List.of("x"), List.of(), Duration.ofHours(1));
        assertRefused(serverOnly, PeerRole.CLIENT, Set.of(), Reason.BAD_KEY_USAGE, "lacks extended key usage clientAuth");
        assertRefused(pki.workload(USER).chain(), PeerRole.SERVER, Set.of(NOTIFY), Reason.WRONG_SPIFFE_ID,
                "peer is " + USER + " (expected: " + NOTIFY + ")");
        SpiffeId billing = TestPki.BILLING;
        assertRefused(pki.workload(USER).chain(), PeerRole.SERVER, Set.of(NOTIFY, billing), Reason.WRONG_SPIFFE_ID,
                "(expected: one of [" + billing + ", " + NOTIFY + "])");
    }

    @Test
    void refusesAChainWhoseIntermediateHasExpiredOrIsForged() throws Exception {
        KeyPair ik = KeyPairs.ecP256();
        X509Certificate intermediate = new CertificateBuilder().subject("CN=Short Intermediate").publicKey(ik.getPublic())
                .issuer(pki.root.cert(), pki.root.key())
                .validity(clock.instant().minusSeconds(60), clock.instant().plus(Duration.ofHours(1)))
                .ca(0).keyUsage(KeyUsage.keyCertSign).build();
        CertifiedKey leaf = TestPki.crafted(intermediate, ik.getPrivate(), b -> b.uri(USER.toString())
                .validity(clock.instant().minusSeconds(60), clock.instant().plus(Duration.ofHours(2))));
        List<X509Certificate> chain = List.of(leaf.leaf(), intermediate);
        assertThat(validator.validate(chain, PeerRole.CLIENT)).isEqualTo(USER);
        assertRefused(leaf.chain(), PeerRole.CLIENT, Set.of(), Reason.UNKNOWN_CA, "is issued by 'CN=Short Intermediate'");

        clock.advance(Duration.ofMinutes(90));
        assertRefused(chain, PeerRole.CLIENT, Set.of(), Reason.EXPIRED, "certificate 'CN=Short Intermediate' expired at");

        // Same issuer name, other key: unknown CA, not a crash.
        TestPki.Root sameName = TestPki.Root.create("Test Root", TD);
        assertThat(sameName.cert().getSubjectX500Principal()).isEqualTo(pki.root.cert().getSubjectX500Principal());
        CertifiedKey forged = TestPki.crafted(sameName.cert(), sameName.key(), b -> b.uri(USER.toString()));
        assertRefused(forged.chain(), PeerRole.CLIENT, Set.of(), Reason.UNKNOWN_CA, "is not a root of trust domain");
    }

    @Test
    void findsTheRefusalInACauseChain() {
        SvidValidationException e = new SvidValidationException(Reason.EXPIRED, "x");
        assertThat(SvidValidationException.find(new RuntimeException(new IllegalStateException(e)))).contains(e);
        assertThat(SvidValidationException.find(new RuntimeException("no"))).isEmpty();
    }
}
