package dev.trellis.sidecar.router;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import dev.trellis.sidecar.testing.Boot;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.Test;

class RouteMatcherTest {
    static RouteMatcher matcher(String vhosts) {
        String b = Boot.bootstrap(Boot.listener("l", "", vhosts), Boot.cluster("c", "", 1));
        return new RouteMatcher(BootstrapTranslator.translate(BootstrapLoader.parse(b, false)).listeners().get(0).http().routes());
    }

    static String vh(String name, String domains) {
        return Boot.j("{'name': '" + name + "', 'domains': [" + domains + "], 'routes': [{'match': {'prefix': '/'}, 'route': {'cluster': 'c'}}]}");
    }

    @Test
    void domainPrecedenceExactThenLongestSuffixThenPrefixThenAny() {
        RouteMatcher m = matcher(String.join(",", vh("any", "'*'"), vh("exact", "'a.b.com'"), vh("suffix", "'*.b.com'"),
                vh("longer", "'*.x.b.com'"), vh("prefix", "'api.*'")));
        assertThat(m.virtualHost("a.b.com").name()).isEqualTo("exact");
        assertThat(m.virtualHost("A.B.COM:8080").name()).isEqualTo("exact");
        assertThat(m.virtualHost("q.b.com").name()).isEqualTo("suffix");
        assertThat(m.virtualHost("q.x.b.com").name()).isEqualTo("longer");
        assertThat(m.virtualHost("api.other").name()).isEqualTo("prefix");
        assertThat(m.virtualHost("b.com").name()).isEqualTo("any");
    }

    static Http2Headers req(String path, String... hv) {
        Http2Headers h = new DefaultHttp2Headers().method("GET").path(path).authority("h");
        for (int i = 0; i < hv.length; i += 2) {
            h.add(hv[i], hv[i + 1]);
        }
        return h;
    }

    @Test
    void routeMatchesInOrderOnPathHeadersAndQuery() {
        String routes = Boot.j("{'name': 'v', 'domains': ['*'], 'routes': ["
                + "{'name': 'ci', 'match': {'path': '/Exact', 'case_sensitive': false}, 'route': {'cluster': 'c'}},"
                + "{'name': 'inv', 'match': {'prefix': '/h', 'headers': [{'name': 'x-env', 'exact_match': 'prod', 'invert_match': true}]}, 'route': {'cluster': 'c'}},"
                + "{'name': 'absent', 'match': {'prefix': '/h', 'headers': [{'name': 'x-debug', 'present_match': false}]}, 'route': {'cluster': 'c'}},"
                + "{'name': 'q', 'match': {'prefix': '/q', 'query_parameters': [{'name': 'v', 'string_match': {'exact': 'a b'}}]}, 'route': {'cluster': 'c'}},"
                + "{'name': 'grpc', 'match': {'prefix': '/', 'grpc': {}}, 'route': {'cluster': 'c'}},"
                + "{'name': 're', 'match': {'safe_regex': {'regex': '/r/[a-z]+'}}, 'route': {'cluster': 'c'}}]}");
        RouteMatcher m = matcher(routes);
        assertThat(m.match(req("/exact?x=1")).route().name()).isEqualTo("ci");
        assertThat(m.match(req("/h", "x-env", "dev")).route().name()).isEqualTo("inv");
        assertThat(m.match(req("/h", "x-env", "prod")).route().name()).isEqualTo("absent");
        assertThat(m.match(req("/h", "x-env", "prod", "x-debug", "1"))).isNull();
        assertThat(m.match(req("/q?v=a%20b")).route().name()).isEqualTo("q");
        assertThat(m.match(req("/q?v=c"))).isNull();
        assertThat(m.match(req("/svc/M", "content-type", "application/grpc")).route().name()).isEqualTo("grpc");
        assertThat(m.match(req("/r/abc")).route().name()).isEqualTo("re");
        assertThat(m.match(req("/r/abc1"))).isNull();
        RouteTable.Route r = m.match(req("/r/x")).route();
        assertThat(r.match().pathKind()).isEqualTo(RouteTable.PathKind.REGEX);
    }
}
