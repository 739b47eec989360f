package dev.trellis.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpiffeIdTest {

    @Test
    void parsesAndFormats() {
        SpiffeId id = SpiffeId.parse("spiffe://trellis.local/ns/default/sa/user-service");
        assertThat(id.trustDomain()).isEqualTo("trellis.local");
        assertThat(id.namespace()).isEqualTo("default");
        assertThat(id.service()).isEqualTo("user-service");
        assertThat(id).hasToString("spiffe://trellis.local/ns/default/sa/user-service")
                .isEqualTo(SpiffeId.of("trellis.local", "default", "user-service"));
        assertThat(id.toUri().getScheme()).isEqualTo("spiffe");
        assertThat(SpiffeId.parse(id.toString())).isEqualTo(id).hasSameHashCodeAs(id);
        assertThat(SpiffeId.parse("spiffe://a_b-c.9/ns/Team.A/sa/svc_1").service()).isEqualTo("svc_1");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "http://trellis.local/ns/default/sa/x|scheme 'http' (expected: spiffe)",
            "SPIFFE://trellis.local/ns/default/sa/x|scheme 'SPIFFE' (expected: spiffe)",
            "trellis.local/ns/default/sa/x|not a URI of the form spiffe://",
            "spiffe://Trellis.local/ns/default/sa/x|trust domain 'Trellis.local': character 'T'",
            "spiffe://trellis.local:8443/ns/default/sa/x|trust domain 'trellis.local:8443': port not allowed",
            "spiffe://user@trellis.local/ns/default/sa/x|user info not allowed",
            "spiffe:///ns/default/sa/x|empty trust domain",
            "spiffe://trellis.local|no path (expected: /ns/<namespace>/sa/<service>)",
            "spiffe://trellis.local/|no path",
            "spiffe://trellis.local/ns/default/sa/x/|path '/ns/default/sa/x/' (expected: /ns/<namespace>/sa/<service>)",
            "spiffe://trellis.local/ns/default/x|path '/ns/default/x'",
            "spiffe://trellis.local/ns//sa/x|empty namespace",
            "spiffe://trellis.local/ns/default/sa/..|service '..' (expected: not '.' or '..')",
            "spiffe://trellis.local/ns/default/sa/a%2Fb|percent-encoding not allowed",
            "spiffe://trellis.local/ns/default/sa/x?y=1|query not allowed",
            "spiffe://trellis.local/ns/default/sa/x#f|fragment not allowed",
            "spiffe://trellis.local/ns/de fault/sa/x|namespace 'de fault': character ' '",
    })
    void refusesWithReason(String input, String reason) {
        assertThatThrownBy(() -> SpiffeId.parse(input))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid SPIFFE ID '" + input + "': ")
                .hasMessageContaining(reason);
    }

    @Test
    void refusesOverlongAndEmpty() {
        assertThatThrownBy(() -> SpiffeId.parse("")).hasMessageContaining("empty");
        String longId = "spiffe://td/ns/n/sa/" + "a".repeat(SpiffeId.MAX_LENGTH);
        assertThatThrownBy(() -> SpiffeId.parse(longId)).hasMessageContaining("(expected: <= 2048)");
        assertThatThrownBy(() -> SpiffeId.of("td", "n", "a/b")).hasMessageContaining("service 'a/b': character '/'");
        assertThatThrownBy(() -> SpiffeId.checkTrustDomain("bad domain"))
                .hasMessage("invalid SPIFFE trust domain: trust domain 'bad domain': character ' ' (expected: a-z, 0-9, '.', '-', '_')");
    }
}
