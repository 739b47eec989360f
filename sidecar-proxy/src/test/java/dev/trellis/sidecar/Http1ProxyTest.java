package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.Raw;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HTTP/1.1 through a real sidecar to real backends: routing, rewrites, headers, keep-alive, pipelining. */
class Http1ProxyTest {
    static Backend a;
    static Backend b;
    static Proxy proxy;
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        a = new Backend("a");
        b = new Backend("b");
        String vhosts = String.join(",",
                j("{'name': 'exact', 'domains': ['exact.test'], 'routes': [{'match': {'prefix': '/'}, 'route': {'cluster': 'b'}}]}"),
                j("{'name': 'suffix', 'domains': ['*.suffix.test'], 'routes': [{'match': {'prefix': '/'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'suffix'}}}]}"),
                j("{'name': 'prefix', 'domains': ['prefix.*'], 'routes': [{'match': {'prefix': '/'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'prefix'}}}]}"),
                j("{'name': 'none', 'domains': ['noroute.test'], 'routes': [{'match': {'path': '/only'}, 'route': {'cluster': 'a'}}]}"),
                j("{'name': 'all', 'domains': ['*'],"
                        + "'request_headers_to_add': [{'header': {'key': 'x-vhost', 'value': 'v'}}],"
                        + "'response_headers_to_add': [{'header': {'key': 'x-resp-vhost', 'value': 'v'}}],"
                        + "'routes': ["
                        + "{'match': {'prefix': '/api/'}, 'route': {'cluster': 'a', 'prefix_rewrite': '/echo/'},"
                        + "  'request_headers_to_add': [{'header': {'key': 'x-route', 'value': 'r'}, 'append_action': 'OVERWRITE_IF_EXISTS_OR_ADD'}],"
                        + "  'request_headers_to_remove': ['x-secret'], 'response_headers_to_remove': ['x-method']},"
                        + "{'match': {'safe_regex': {'regex': '/re/([0-9]+)'}}, 'route': {'cluster': 'a', 'regex_rewrite': {'pattern': {'regex': '^/re/([0-9]+)$'}, 'substitution': '/echo/\\\\1'}}},"
                        + "{'match': {'prefix': '/hdr', 'headers': [{'name': 'x-pick', 'string_match': {'exact': 'b'}}]}, 'route': {'cluster': 'b', 'host_rewrite_literal': 'rewritten.test'}},"
                        + "{'match': {'prefix': '/q', 'query_parameters': [{'name': 'to', 'string_match': {'exact': 'b'}}]}, 'route': {'cluster': 'b'}},"
                        + "{'match': {'prefix': '/w'}, 'route': {'weighted_clusters': {'clusters': [{'name': 'a', 'weight': 1}, {'name': 'b', 'weight': 1}]}}},"
                        + "{'match': {'prefix': '/direct'}, 'direct_response': {'status': 418, 'body': {'inline_string': 'teapot'}}},"
                        + "{'match': {'prefix': '/old'}, 'redirect': {'path_redirect': '/new', 'response_code': 'FOUND'}},"
                        + "{'match': {'prefix': '/'}, 'route': {'cluster': 'a'}}]}"));
        proxy = Proxy.start(bootstrap(listener("main", "", vhosts), cluster("a", "", a.port()) + "," + cluster("b", "", b.port())));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        a.close();
        b.close();
    }

    static HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(proxy.uri("main", path));
        if (headers.length > 0) {
            r.headers(headers);
        }
        return client.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void proxiesWithRewritesAndHeaderMutationsAtEveryLevel() throws Exception {
        HttpResponse<String> r = get("/api/users?x=1", "x-secret", "s", "x-route", "client");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-uri")).contains("/echo/users?x=1");
        assertThat(r.headers().firstValue("x-resp-vhost")).contains("v");
        assertThat(r.headers().firstValue("x-method")).isEmpty();
        Map<String, String> seen = Backend.echoedHeaders(r.body());
        assertThat(seen).containsEntry("x-vhost", "v").containsEntry("x-route", "r").doesNotContainKey("x-secret");
        assertThat(seen).containsEntry("x-envoy-original-path", "/api/users?x=1");
        assertThat(seen.get("x-forwarded-for")).isEqualTo("127.0.0.1");
        assertThat(seen.get("x-forwarded-proto")).isEqualTo("http");
        assertThat(seen.get("x-request-id")).matches("[0-9a-f-]{36}");
        assertThat(seen.get("host")).isEqualTo("127.0.0.1:" + proxy.port("main"));

        assertThat(get("/re/42").headers().firstValue("x-uri")).contains("/echo/42");
    }

    @Test
    void keepsRequestIdAndAppendsForwardedFor() throws Exception {
        Map<String, String> seen = Backend.echoedHeaders(get("/x", "x-request-id", "abc", "x-forwarded-for", "10.0.0.1").body());
        assertThat(seen).containsEntry("x-request-id", "abc").containsEntry("x-forwarded-for", "10.0.0.1, 127.0.0.1");
    }

    @Test
    void matchesDomainsHeadersAndQueryParameters() throws Exception {
        assertThat(get("/", "x-pick", "b").headers().firstValue("x-backend")).contains("a");
        HttpResponse<String> hdr = get("/hdr", "x-pick", "b");
        assertThat(hdr.headers().firstValue("x-backend")).contains("b");
        assertThat(Backend.echoedHeaders(hdr.body())).containsEntry("host", "rewritten.test");
        assertThat(get("/hdr", "x-pick", "c").headers().firstValue("x-backend")).contains("a");
        assertThat(get("/q?to=b").headers().firstValue("x-backend")).contains("b");
        assertThat(get("/q?to=c").headers().firstValue("x-backend")).contains("a");
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("GET / HTTP/1.1\r\nHost: exact.test\r\nConnection: close\r\n\r\n");
            assertThat(raw.readUntilClose(5000)).contains("x-backend: b");
        }
        for (String[] hv : new String[][] {{"x.suffix.test", "suffix"}, {"prefix.anything", "prefix"}}) {
            try (Raw raw = new Raw(proxy.port("main"))) {
                raw.send("GET / HTTP/1.1\r\nHost: " + hv[0] + "\r\nConnection: close\r\n\r\n");
                assertThat(raw.readUntilClose(5000)).endsWith(hv[1]);
            }
        }
    }

    @Test
    void noRouteIs404WithFlagNR() throws Exception {
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("GET /other HTTP/1.1\r\nHost: noroute.test\r\nConnection: close\r\n\r\n");
            String resp = raw.readUntilClose(5000);
            assertThat(resp).startsWith("HTTP/1.1 404").contains("x-trellis-response-flags: NR");
        }
    }

    @Test
    void directResponseRedirectAndWeightedClusters() throws Exception {
        HttpResponse<String> d = get("/direct");
        assertThat(d.statusCode()).isEqualTo(418);
        assertThat(d.body()).isEqualTo("teapot");
        HttpResponse<String> r = get("/old?k=v");
        assertThat(r.statusCode()).isEqualTo(302);
        assertThat(r.headers().firstValue("location")).contains("http://127.0.0.1:" + proxy.port("main") + "/new?k=v");
        int toA = 0;
        for (int i = 0; i < 200; i++) {
            if (get("/w").headers().firstValue("x-backend").orElseThrow().equals("a")) {
                toA++;
            }
        }
        assertThat(toA).isBetween(60, 140);
    }

    @Test
    void postBodiesStreamChunkedAndWithLength() throws Exception {
        String body = "x".repeat(100_000);
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(proxy.uri("main", "/sink"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.body()).isEqualTo("100000");
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
            String resp = raw.readUntilClose(5000);
            assertThat(resp).startsWith("HTTP/1.1 200").contains("transfer-encoding=chunked").endsWith("hello world");
        }
    }

    @Test
    void hopByHopHeadersAreDroppedAndCookiesKept() throws Exception {
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close, x-drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\n"
                    + "Proxy-Connection: x\r\nTE: trailers, gzip\r\nCookie: a=1; b=2\r\n\r\n");
            String resp = raw.readUntilClose(5000);
            assertThat(resp).doesNotContain("x-drop=").doesNotContain("keep-alive=").doesNotContain("proxy-connection=")
                    .contains("te=trailers").doesNotContain("gzip").contains("cookie=a=1; b=2");
        }
    }

    @Test
    void keepAliveReusesUpstreamConnectionsAndPipelinedRequestsAnswerInOrder() throws Exception {
        int before = b.clientPorts.size();
        for (int i = 0; i < 20; i++) {
            try (Raw raw = new Raw(proxy.port("main"))) {
                raw.send("GET /q?to=b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
                assertThat(raw.readUntilClose(5000)).startsWith("HTTP/1.1 200");
            }
        }
        assertThat(b.clientPorts.size() - before).isLessThanOrEqualTo(2);
        try (Raw raw = new Raw(proxy.port("main"))) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 5; i++) {
                sb.append("GET /slow?ms=").append(50 - i * 10).append("&i=").append(i).append(" HTTP/1.1\r\nHost: h\r\n\r\n");
            }
            sb.append("GET /direct HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            raw.send(sb.toString());
            String all = raw.readUntilClose(10_000);
            Matcher m = Pattern.compile("x-uri: /slow\\?ms=\\d+&i=(\\d)").matcher(all);
            StringBuilder order = new StringBuilder();
            while (m.find()) {
                order.append(m.group(1));
            }
            assertThat(order.toString()).isEqualTo("01234");
            assertThat(all).endsWith("teapot");
        }
    }

    @Test
    void http10AndHeadWork() throws Exception {
        try (Raw raw = new Raw(proxy.port("main"))) {
            raw.send("GET /echo HTTP/1.0\r\n\r\n");
            assertThat(raw.readUntilClose(5000)).startsWith("HTTP/1.0 200");
        }
        HttpResponse<String> h = client.send(HttpRequest.newBuilder(proxy.uri("main", "/bytes?n=10"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(h.statusCode()).isEqualTo(200);
        assertThat(h.body()).isEmpty();
    }
}
