package dev.trellis.sidecar.filter;

import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.typed;
import static dev.trellis.sidecar.testing.Embedded.ascii;
import static dev.trellis.sidecar.testing.Embedded.drain;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.sidecar.listener.HttpCodecs;
import dev.trellis.sidecar.testing.Embedded;
import dev.trellis.sidecar.testing.Jwts;
import dev.trellis.sidecar.testing.JwksServer;
import dev.trellis.sidecar.testing.TestPki;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The edge filters on an EmbeddedChannel: local answers, 413 mid-body, 429 on a manual ticker, a paused chain. */
class FilterChainEmbeddedTest {
    static final String ROUTES = j("{'name': 'v', 'domains': ['*'], 'routes': ["
            + "{'match': {'prefix': '/cors'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'C'}},"
            + " 'typed_per_filter_config': {'cors': " + typed("envoy.extensions.filters.http.cors.v3.CorsPolicy",
            "'allow_origin_string_match': [{'suffix': '.example.com'}], 'allow_methods': 'GET'") + "}},"
            + "{'match': {'prefix': '/'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'A'}}}]}");
    static final String PLAIN = j("{'name': 'v', 'domains': ['*'], 'routes': ["
            + "{'match': {'prefix': '/'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'A'}}}]}");
    final AtomicLong now = new AtomicLong();

    EmbeddedChannel channel(String filters) {
        Embedded e = new Embedded("", filters, filters.contains("cors") ? ROUTES : PLAIN, now::get);
        EmbeddedChannel ch = new EmbeddedChannel();
        HttpCodecs.http1(ch.pipeline(), e.hcm.config(), () -> e.hcm);
        return ch;
    }

    static String filter(String name, String type, String body) {
        return j("{'name': '" + name + "', 'typed_config': " + typed(type, body) + "}");
    }

    @Test
    void corsPreflightIsAnsweredLocally() {
        EmbeddedChannel ch = channel(filter("cors", "envoy.extensions.filters.http.cors.v3.Cors", ""));
        ch.writeInbound(ascii("OPTIONS /cors HTTP/1.1\r\nHost: h\r\nOrigin: https://app.example.com\r\n"
                + "Access-Control-Request-Method: GET\r\n\r\n"));
        ch.runPendingTasks();
        String out = drain(ch);
        assertThat(out).startsWith("HTTP/1.1 200").contains("access-control-allow-origin: https://app.example.com")
                .contains("access-control-allow-methods: GET").doesNotContain("\r\n\r\nC");
        ch.writeInbound(ascii("GET /cors HTTP/1.1\r\nHost: h\r\nOrigin: https://app.example.com\r\n\r\n"));
        ch.runPendingTasks();
        assertThat(drain(ch)).contains("access-control-allow-origin: https://app.example.com").endsWith("C");
        ch.writeInbound(ascii("GET /cors HTTP/1.1\r\nHost: h\r\nOrigin: https://evil.test\r\n\r\n"));
        ch.runPendingTasks();
        assertThat(drain(ch)).doesNotContain("access-control-allow-origin");
        ch.finishAndReleaseAll();
    }

    @Test
    void bodyLimitRefusesADeclaredLengthAtOnce() {
        // (a body that grows past the limit while streaming is covered end to end in GatewayFiltersTest)
        EmbeddedChannel ch2 = channel(filter("buf", "envoy.extensions.filters.http.buffer.v3.Buffer", "'max_request_bytes': 10"));
        ch2.writeInbound(ascii("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"));
        ch2.runPendingTasks();
        assertThat(drain(ch2)).startsWith("HTTP/1.1 413");
        ch2.finishAndReleaseAll();
    }

    @Test
    void rateLimitFollowsTheInjectedTicker() {
        EmbeddedChannel ch = channel(filter("rl", "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                "'stat_prefix': 'rl', 'token_bucket': {'max_tokens': 2, 'tokens_per_fill': 1, 'fill_interval': '10s'},"
                        + "'filter_enabled': {'default_value': {'numerator': 100}}, 'filter_enforced': {'default_value': {'numerator': 100}},"
                        + "'enable_x_ratelimit_headers': 'DRAFT_VERSION_03'"));
        String req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
        ch.writeInbound(ascii(req + req + req));
        ch.runPendingTasks();
        String out = drain(ch);
        assertThat(out).contains("x-ratelimit-remaining: 1").contains("x-ratelimit-remaining: 0");
        assertThat(out).contains("HTTP/1.1 429").contains("retry-after: 10").contains("x-trellis-response-flags: RL");
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        ch.writeInbound(ascii(req));
        ch.runPendingTasks();
        assertThat(drain(ch)).startsWith("HTTP/1.1 200");
        ch.finishAndReleaseAll();
    }

    @Test
    void filtersThatAreNotEnabledDoNothing() {
        EmbeddedChannel ch = channel(filter("rl", "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                "'stat_prefix': 'rl', 'token_bucket': {'max_tokens': 1, 'fill_interval': '10s'}"));
        String req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
        ch.writeInbound(ascii(req + req + req));
        ch.runPendingTasks();
        assertThat(drain(ch)).doesNotContain("429");
        ch.finishAndReleaseAll();
    }

    @Test
    void jwtPausesTheChainWhileKeysAreFetchedAndHoldsTheBody() throws Exception {
        TestPki pki = new TestPki();
        Jwts keys = new Jwts("emb");
        try (JwksServer server = new JwksServer(pki.serverContext("jwks"), keys.jwks(false))) {
            java.nio.file.Path ca = pki.ca();
            String jwt = filter("jwt", "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                    "'providers': {'p': {'issuer': 'https://i', 'remote_jwks': {'http_uri': {'uri': '" + server.uri()
                            + "', 'cluster': 'unused', 'timeout': '5s'}}}}, 'rules': [{'match': {'prefix': '/'}, 'requires': {'provider_name': 'p'}}]");
            Embedded e = new Embedded("", jwt, PLAIN, now::get);
            // no clusters here to name the CA: the source gets it directly
            dev.trellis.sidecar.filter.jwt.JwtAuthnConfig c = (dev.trellis.sidecar.filter.jwt.JwtAuthnConfig)
                    e.hcm.config().filtersBeforeRouter().get(0);
            var remote = (dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.RemoteJwks) c.providers().get("p").jwks();
            var source = new dev.trellis.sidecar.filter.jwt.JwksSource.Remote(remote.withTrustedCa(java.util.Optional.of(ca)), now::get);
            FilterFactory f = dev.trellis.sidecar.filter.jwt.JwtAuthnFilter.factory(c, java.util.Map.of("p", source), java.time.Clock.systemUTC());
            var hcm = new dev.trellis.sidecar.http.HttpConnectionManager("l", e.hcm.config(), java.util.Map.of(), info -> { },
                    false, now::get, java.util.List.of(f));
            EmbeddedChannel ch = new EmbeddedChannel();
            HttpCodecs.http1(ch.pipeline(), hcm.config(), () -> hcm);
            String token = keys.rs256(Jwts.claims("https://i", null, "u", Instant.now().plusSeconds(60)).build());
            ch.writeInbound(ascii("POST /x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + token + "\r\nContent-Length: 4\r\n\r\nbody"));
            ch.runPendingTasks();
            assertThat(drain(ch)).isEmpty();
            StringBuilder out = new StringBuilder();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                ch.runPendingTasks();
                out.append(drain(ch));
                return out.length() > 0;
            });
            assertThat(out.toString()).startsWith("HTTP/1.1 200").endsWith("A");
            assertThat(server.fetches.get()).isEqualTo(1);
            ch.finishAndReleaseAll();
        }
    }
}
