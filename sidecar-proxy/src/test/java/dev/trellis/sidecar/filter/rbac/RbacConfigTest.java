package dev.trellis.sidecar.filter.rbac;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.StringMatch;
import dev.trellis.sidecar.filter.rbac.RbacConfig.Permission;
import dev.trellis.sidecar.filter.rbac.RbacConfig.Principal;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Decisions of the RBAC model: principals, permissions and Envoy's header matcher rules. */
class RbacConfigTest {
    static StringMatch exact(String v) {
        return new StringMatch(StringMatch.Kind.EXACT, v, null, false);
    }

    static StringMatch prefix(String v) {
        return new StringMatch(StringMatch.Kind.PREFIX, v, null, false);
    }

    static RbacConfig.Request req(String peer, String method, String path) {
        Http2Headers h = new DefaultHttp2Headers().method(method).path(path);
        return new RbacConfig.Request(Optional.ofNullable(peer), h);
    }

    @Test
    void principals() {
        Principal a = new Principal.Authenticated(Optional.of(prefix("spiffe://td/ns/default/sa/a")));
        Principal anyAuthenticated = new Principal.Authenticated(Optional.empty());
        assertThat(a.matches(req("spiffe://td/ns/default/sa/a", "GET", "/"))).isTrue();
        assertThat(a.matches(req("spiffe://td/ns/default/sa/b", "GET", "/"))).isFalse();
        assertThat(a.matches(req(null, "GET", "/"))).isFalse();
        assertThat(anyAuthenticated.matches(req("spiffe://td/ns/x/sa/y", "GET", "/"))).isTrue();
        assertThat(anyAuthenticated.matches(req(null, "GET", "/"))).isFalse();
        assertThat(new Principal.Not(anyAuthenticated).matches(req(null, "GET", "/"))).as("unauthenticated").isTrue();
        assertThat(new Principal.Any().matches(req(null, "GET", "/"))).isTrue();
        assertThat(new Principal.And(List.of(anyAuthenticated, new Principal.Not(a))).matches(req("spiffe://td/ns/default/sa/b", "GET", "/")))
                .isTrue();
        assertThat(new Principal.Or(List.of(a, new Principal.Not(anyAuthenticated))).matches(req("spiffe://td/ns/default/sa/b", "GET", "/")))
                .isFalse();
    }

    @Test
    void permissions() {
        Permission path = new Permission.UrlPath(exact("/x"));
        assertThat(path.matches(req(null, "GET", "/x?a=b"))).isTrue();
        assertThat(path.matches(req(null, "GET", "/x/"))).isFalse();
        Permission fullPath = new Permission.Header(new RouteTable.HeaderMatch(":path", exact("/x"), false, true, false));
        assertThat(fullPath.matches(req(null, "GET", "/x?a=b"))).as(":path header includes the query").isFalse();
        Permission get = new Permission.Header(new RouteTable.HeaderMatch(":method", exact("GET"), false, true, false));
        assertThat(new Permission.And(List.of(path, get)).matches(req(null, "GET", "/x"))).isTrue();
        assertThat(new Permission.And(List.of(path, get)).matches(req(null, "PUT", "/x"))).isFalse();
        assertThat(new Permission.Or(List.of(path, get)).matches(req(null, "PUT", "/x"))).isTrue();
        assertThat(new Permission.Not(get).matches(req(null, "PUT", "/y"))).isTrue();
        assertThat(new Permission.Any().matches(req(null, "PUT", "/y"))).isTrue();
    }

    @Test
    void headerMatcherFollowsEnvoyForMissingAndRepeatedHeaders() {
        Http2Headers h = new DefaultHttp2Headers().method("GET").path("/");
        h.add("x-a", "1");
        h.add("x-a", "2");
        assertThat(RbacConfig.headerMatches(new RouteTable.HeaderMatch("x-a", exact("1,2"), false, true, false), h)).isTrue();
        assertThat(RbacConfig.headerMatches(new RouteTable.HeaderMatch("x-b", exact("1"), false, true, true), h))
                .as("an inverted match on a missing header still fails").isFalse();
        assertThat(RbacConfig.headerMatches(new RouteTable.HeaderMatch("x-b", null, true, false, false), h)).isTrue();
        assertThat(RbacConfig.headerMatches(new RouteTable.HeaderMatch("x-b", null, true, true, true), h)).isTrue();
        assertThat(RbacConfig.headerMatches(new RouteTable.HeaderMatch("x-a", null, true, true, true), h)).isFalse();
    }

    @Test
    void allowNeedsAMatchDenyNeedsNone() {
        RbacConfig.Policy p = new RbacConfig.Policy(List.of(new Permission.UrlPath(prefix("/admin"))), List.of(new Principal.Any()));
        RbacConfig.Rules allow = RbacConfig.Rules.of(RbacConfig.Action.ALLOW, Map.of("p", p));
        RbacConfig.Rules deny = RbacConfig.Rules.of(RbacConfig.Action.DENY, Map.of("p", p));
        assertThat(allow.allows(req(null, "GET", "/admin/x"))).isTrue();
        assertThat(allow.allows(req(null, "GET", "/x"))).isFalse();
        assertThat(deny.allows(req(null, "GET", "/admin/x"))).isFalse();
        assertThat(deny.allows(req(null, "GET", "/x"))).isTrue();
        assertThat(deny.matchingPolicy(req(null, "GET", "/admin"))).contains("p");
    }
}
