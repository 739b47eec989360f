package dev.trellis.sidecar.filter.rbac;

import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.rbac;
import static dev.trellis.sidecar.testing.Embedded.ascii;
import static dev.trellis.sidecar.testing.Embedded.drain;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.certs.PeerIdentity;
import dev.trellis.certs.SpiffeId;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.listener.HttpCodecs;
import dev.trellis.sidecar.testing.Embedded;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** The RBAC filters the control plane emits (a DENY then an ALLOW filter), on an EmbeddedChannel. */
class RbacFilterTest {
    static final String A = "spiffe://test.local/ns/default/sa/a";
    static final String C = "spiffe://test.local/ns/default/sa/c";

    static String authenticated(String id) {
        return j("{'authenticated': {'principal_name': {'exact': '" + id + "'}}}");
    }

    static final String DENY = rbac("DENY", j("{'deny-0': {'permissions': [{'url_path': {'path': {'prefix': '/a/admin'}}}],"
            + "'principals': [" + authenticated(C) + "]}}"));
    static final String ALLOW = rbac("ALLOW", j("{'allow-0': {'permissions': [{'any': true}], 'principals': [" + authenticated(A) + "]},"
            + "'allow-1': {'permissions': [{'and_rules': {'rules': ["
            + "{'or_rules': {'rules': [{'header': {'name': ':method', 'string_match': {'exact': 'GET'}}}]}},"
            + "{'or_rules': {'rules': [{'url_path': {'path': {'prefix': '/a/public/'}}}, {'url_path': {'path': {'exact': '/a/status'}}}]}}]}}],"
            + "'principals': [{'or_ids': {'ids': [" + authenticated(C) + "]}}]}}"));

    final Embedded e = new Embedded("", DENY, ALLOW);

    EmbeddedChannel channel(String peer) {
        EmbeddedChannel ch = new EmbeddedChannel();
        if (peer != null) {
            // what PeerIdentity caches after a verified handshake
            ch.attr(PeerIdentity.PEER_ID).set(SpiffeId.parse(peer));
        }
        HttpCodecs.http1(ch.pipeline(), e.hcm.config(), () -> e.hcm);
        return ch;
    }

    String send(EmbeddedChannel ch, String method, String path, String... headers) {
        StringBuilder sb = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: h\r\n");
        for (String h : headers) {
            sb.append(h).append("\r\n");
        }
        ch.writeInbound(ascii(sb.append("\r\n").toString()));
        ch.runPendingTasks();
        return drain(ch);
    }

    @Test
    void allowedServiceGetsAnythingNotDenied() {
        EmbeddedChannel ch = channel(A);
        assertThat(send(ch, "GET", "/a/x")).startsWith("HTTP/1.1 200");
        assertThat(send(ch, "DELETE", "/a/admin/users")).startsWith("HTTP/1.1 200");
        ch.finishAndReleaseAll();
    }

    @Test
    void otherServiceOnlyWhereItsRuleSays() {
        EmbeddedChannel ch = channel(C);
        assertThat(send(ch, "GET", "/a/public/x")).startsWith("HTTP/1.1 200");
        assertThat(send(ch, "GET", "/a/public/x?y=/a/admin")).as("url_path ignores the query").startsWith("HTTP/1.1 200");
        assertThat(send(ch, "GET", "/a/status")).startsWith("HTTP/1.1 200");
        String post = send(ch, "POST", "/a/public/x", "content-length: 0");
        assertThat(post).startsWith("HTTP/1.1 403").contains("x-trellis-response-flags: RBAC").endsWith("RBAC: access denied\n");
        assertThat(send(ch, "GET", "/a/status/x")).as("exact path").startsWith("HTTP/1.1 403");
        assertThat(send(ch, "GET", "/a/public")).as("prefix is /a/public/").startsWith("HTTP/1.1 403");
        assertThat(ch.isOpen()).as("a denial keeps the connection").isTrue();
        ch.finishAndReleaseAll();
        assertThat(e.finished.get(3).flags()).containsExactly(ResponseFlag.RBAC);
        assertThat(e.finished.get(3).responseCode()).isEqualTo(403);
    }

    @Test
    void denyRuleWinsOverAllow() {
        Embedded both = new Embedded("", DENY, rbac("ALLOW", j("{'all': {'permissions': [{'any': true}], 'principals': [{'any': true}]}}")));
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.attr(PeerIdentity.PEER_ID).set(SpiffeId.parse(C));
        HttpCodecs.http1(ch.pipeline(), both.hcm.config(), () -> both.hcm);
        assertThat(send(ch, "GET", "/a/admin/x")).startsWith("HTTP/1.1 403");
        assertThat(send(ch, "GET", "/a/other")).startsWith("HTTP/1.1 200");
        ch.finishAndReleaseAll();
    }

    @Test
    void peerWithoutCertificateIsDeniedByDefaultDeny() {
        EmbeddedChannel ch = channel(null);
        assertThat(send(ch, "GET", "/a/public/x")).startsWith("HTTP/1.1 403");
        ch.finishAndReleaseAll();
    }

    @Test
    void grpcDenialIsPermissionDeniedTrailersOnly() {
        EmbeddedChannel ch = channel(C);
        String out = send(ch, "POST", "/a/admin/Svc/Method", "content-type: application/grpc", "te: trailers", "content-length: 0");
        assertThat(out).startsWith("HTTP/1.1 200").contains("grpc-status: 7").contains("grpc-message: RBAC: access denied")
                .contains("x-trellis-response-flags: RBAC");
        ch.finishAndReleaseAll();
    }

    @Test
    void allowWithoutPoliciesDeniesEverythingAndNoRulesAllowsEverything() {
        Embedded none = new Embedded("", rbac("ALLOW", "{}"));
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.attr(PeerIdentity.PEER_ID).set(SpiffeId.parse(A));
        HttpCodecs.http1(ch.pipeline(), none.hcm.config(), () -> none.hcm);
        assertThat(send(ch, "GET", "/a/x")).startsWith("HTTP/1.1 403");
        ch.finishAndReleaseAll();
        Embedded open = new Embedded("", rbac(null, null));
        EmbeddedChannel ch2 = new EmbeddedChannel();
        HttpCodecs.http1(ch2.pipeline(), open.hcm.config(), () -> open.hcm);
        assertThat(send(ch2, "GET", "/a/x")).startsWith("HTTP/1.1 200");
        ch2.finishAndReleaseAll();
    }
}
