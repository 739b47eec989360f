package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listenerWithFilters;
import static dev.trellis.sidecar.testing.Boot.typed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Jwts;
import dev.trellis.sidecar.testing.JwksServer;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.TestPki;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The edge filters from a static bootstrap over real sockets: JWT (local keys and a real HTTPS
 * JWKS server), local rate limit, CORS, the body limit and x-forwarded-for trusted hops.
 */
class GatewayFiltersTest {
    static final String JWT = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
    static final String RL = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
    static TestPki pki;
    static Jwts remoteKeys;
    static Jwts localKeys;
    static Jwts rotated;
    static JwksServer jwks;
    static Backend app;
    static Proxy proxy;
    static final HttpClient http = HttpClient.newHttpClient();
    static final Instant EXP = Instant.now().plusSeconds(600);

    static String bucket(int burst, String key) {
        return typed(RL, "'stat_prefix': 'rl', 'token_bucket': {'max_tokens': " + burst + ", 'tokens_per_fill': 1, 'fill_interval': '3600s'},"
                + "'filter_enabled': {'default_value': {'numerator': 100}}, 'filter_enforced': {'default_value': {'numerator': 100}},"
                + "'rate_limits': [{'actions': [" + key + "]}]");
    }

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki();
        remoteKeys = new Jwts("remote1");
        localKeys = new Jwts("local1");
        rotated = new Jwts("remote2");
        jwks = new JwksServer(pki.serverContext("jwks"), remoteKeys.jwks(false));
        app = new Backend("app");
        String filters = j("{'name': 'envoy.filters.http.cors', 'typed_config': " + typed("envoy.extensions.filters.http.cors.v3.Cors", "") + "},"
                + "{'name': 'envoy.filters.http.buffer', 'typed_config': " + typed("envoy.extensions.filters.http.buffer.v3.Buffer", "'max_request_bytes': 1024") + "},"
                + "{'name': 'envoy.filters.http.jwt_authn', 'typed_config': " + typed(JWT,
                "'bypass_cors_preflight': true, 'providers': {"
                        + "'remote': {'issuer': 'https://remote', 'audiences': ['api'], 'remote_jwks': {'http_uri': {'uri': '" + jwks.uri() + "', 'cluster': 'jwks', 'timeout': '2s'},"
                        + "  'cache_duration': '600s', 'async_fetch': {'failed_refetch_duration': '3600s'}},"
                        + "  'claim_to_headers': [{'header_name': 'x-jwt-sub', 'claim_name': 'sub'}, {'header_name': 'x-jwt-scope', 'claim_name': 'scope'}]},"
                        + "'local': {'issuer': 'https://local', 'local_jwks': {'inline_string': '" + localKeys.jwks(true).replace("\"", "\\\"") + "'},"
                        + "  'forward': true, 'forward_payload_header': 'x-jwt-payload', 'clock_skew_seconds': 5}},"
                        + "'rules': [{'match': {'prefix': '/public'}}, {'match': {'prefix': '/limited'}},"
                        + "  {'match': {'prefix': '/'}, 'requires': {'requires_any': {'requirements': [{'provider_name': 'remote'}, {'provider_name': 'local'}]}}}]")
                + "},"
                + "{'name': 'envoy.filters.http.local_ratelimit', 'typed_config': " + typed(RL, "'stat_prefix': 'off'") + "}");
        String vhost = j("{'name': 'all', 'domains': ['*'], 'routes': ["
                + "{'match': {'prefix': '/public/cors'}, 'route': {'cluster': 'app'}, 'typed_per_filter_config': {'envoy.filters.http.cors': "
                + typed("envoy.extensions.filters.http.cors.v3.CorsPolicy", "'allow_origin_string_match': [{'exact': 'https://good.example'}],"
                + "'allow_methods': 'GET, POST', 'allow_headers': 'authorization, content-type', 'expose_headers': 'x-backend', 'max_age': '600', 'allow_credentials': true") + "}},"
                + "{'match': {'prefix': '/public/big'}, 'route': {'cluster': 'app'}, 'typed_per_filter_config': {'envoy.filters.http.buffer': "
                + typed("envoy.extensions.filters.http.buffer.v3.BufferPerRoute", "'disabled': true") + "}},"
                + "{'match': {'prefix': '/limited/ip'}, 'route': {'cluster': 'app'}, 'typed_per_filter_config': {'envoy.filters.http.local_ratelimit': "
                + bucket(5, "{'remote_address': {}}") + "}},"
                + "{'match': {'prefix': '/limited/header'}, 'route': {'cluster': 'app'}, 'typed_per_filter_config': {'envoy.filters.http.local_ratelimit': "
                + bucket(2, "{'request_headers': {'header_name': 'x-api-key', 'descriptor_key': 'key'}}") + "}},"
                + "{'match': {'prefix': '/scoped'}, 'route': {'cluster': 'app'}, 'metadata': {'filter_metadata': {'trellis.jwt_authn': {'required_scopes': ['write']}}}},"
                + "{'match': {'prefix': '/'}, 'route': {'cluster': 'app'}}]}");
        String tls = j("'transport_socket': {'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',"
                + "'common_tls_context': {'validation_context': {'trusted_ca': {'filename': '" + pki.ca() + "'}}}}}");
        proxy = Proxy.start(bootstrap(listenerWithFilters("gw", j("'xff_num_trusted_hops': 1"), vhost, filters, null),
                cluster("app", "", app.port()) + "," + cluster("jwks", tls, 1)));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        app.close();
        jwks.close();
    }

    static HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(proxy.uri("gw", path));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> bearer(String path, String token) throws Exception {
        return get(path, "authorization", "Bearer " + token);
    }

    static JWTClaimsSet.Builder remote(String sub) {
        return Jwts.claims("https://remote", "api", sub, EXP);
    }

    static void assertInvalid(HttpResponse<String> r, String description) {
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("www-authenticate"))
                .contains("Bearer error=\"invalid_token\", error_description=\"" + description + "\"");
    }

    @Test
    void validTokensPassWithClaimsAsHeaders() throws Exception {
        HttpResponse<String> r = bearer("/api/x", remoteKeys.rs256(remote("alice").claim("scope", "read").build()));
        assertThat(r.statusCode()).isEqualTo(200);
        Map<String, String> seen = Backend.echoedHeaders(r.body());
        assertThat(seen).containsEntry("x-jwt-sub", "alice").containsEntry("x-jwt-scope", "read").doesNotContainKey("authorization");
        HttpResponse<String> es = bearer("/api/x", remoteKeys.es256(remote("bob").build()));
        assertThat(Backend.echoedHeaders(es.body())).containsEntry("x-jwt-sub", "bob");
        HttpResponse<String> ed = bearer("/api/x", remoteKeys.eddsa(remote("carol").build()));
        assertThat(Backend.echoedHeaders(ed.body())).containsEntry("x-jwt-sub", "carol");
        // local provider: HS256 with its explicit secret, token forwarded, payload header, default x-jwt-sub
        String hs = localKeys.hs256(Jwts.claims("https://local", null, "dave", EXP).build());
        Map<String, String> local = Backend.echoedHeaders(bearer("/api/x", hs).body());
        assertThat(local).containsEntry("x-jwt-sub", "dave").containsEntry("authorization", "Bearer " + hs).containsKey("x-jwt-payload");
    }

    @Test
    void invalidTokensGet401WithABearerChallenge() throws Exception {
        Instant now = Instant.now();
        int before = app.requests.get();
        assertInvalid(get("/api/x"), "Jwt is missing");
        assertInvalid(bearer("/api/x", remoteKeys.rs256(Jwts.claims("https://remote", "api", "a", now.minusSeconds(120)).build())),
                "Jwt is expired");
        assertInvalid(bearer("/api/x", remoteKeys.rs256(remote("a").notBeforeTime(Date.from(now.plusSeconds(600))).build())),
                "Jwt not yet valid");
        assertInvalid(bearer("/api/x", remoteKeys.rs256(Jwts.claims("https://evil", "api", "a", EXP).build())),
                "Jwt issuer is not configured");
        assertInvalid(bearer("/api/x", remoteKeys.rs256(Jwts.claims("https://remote", "web", "a", EXP).build())),
                "Audiences in Jwt are not allowed");
        String good = remoteKeys.rs256(remote("alice").build());
        String other = remoteKeys.rs256(remote("mallory").build());
        assertInvalid(bearer("/api/x", Jwts.withSignatureOf(other, good)), "Jwt verification fails");
        assertInvalid(bearer("/api/x", Jwts.none(remote("mallory").build())), "Jwt algorithm 'none' is not allowed");
        assertInvalid(bearer("/api/x", remoteKeys.hs256WithRsaPublicKey(remote("mallory").build())),
                "Jwks doesn't have key to match kid or alg from Jwt");
        assertThat(app.requests.get()).isEqualTo(before);
    }

    @Test
    void unknownKidRefetchesTheRemoteKeysOnce() throws Exception {
        assertThat(bearer("/api/x", remoteKeys.rs256(remote("alice").build())).statusCode()).isEqualTo(200);
        int before = jwks.fetches.get();
        JWKSet both = new JWKSet(new ArrayList<>(List.of(remoteKeys.rsa.toPublicJWK(), rotated.rsa.toPublicJWK())));
        jwks.serve(both.toString(false));
        HttpResponse<String> r = bearer("/api/x", rotated.rs256(remote("erin").build()));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Backend.echoedHeaders(r.body())).containsEntry("x-jwt-sub", "erin");
        assertThat(jwks.fetches.get()).isEqualTo(before + 1);
        // another unknown kid within the refetch interval: refused without a fetch
        Jwts third = new Jwts("remote3");
        assertInvalid(bearer("/api/x", third.rs256(remote("frank").build())), "Jwks doesn't have key to match kid or alg from Jwt");
        assertThat(jwks.fetches.get()).isEqualTo(before + 1);
    }

    @Test
    void routesCanRequireScopes() throws Exception {
        HttpResponse<String> r = bearer("/scoped", remoteKeys.rs256(remote("alice").claim("scope", "read").build()));
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v)
                .contains("error=\"insufficient_scope\"").contains("Jwt lacks scope 'write'"));
        assertThat(bearer("/scoped", remoteKeys.rs256(remote("alice").claim("scope", "read write").build())).statusCode())
                .isEqualTo(200);
    }

    @Test
    void claimHeadersFromClientsAreStripped() throws Exception {
        HttpResponse<String> r = get("/public/x", "x-jwt-sub", "admin", "x-jwt-payload", "forged");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Backend.echoedHeaders(r.body())).doesNotContainKeys("x-jwt-sub", "x-jwt-payload");
    }

    @Test
    void rateLimitIsExactWith64ConcurrentClients() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        List<HttpClient> clients = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            clients.add(HttpClient.newHttpClient());
        }
        for (HttpClient c : clients) {
            all.add(c.sendAsync(HttpRequest.newBuilder(proxy.uri("gw", "/limited/ip")).header("x-forwarded-for", "203.0.113.7").build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        int ok = 0;
        int limited = 0;
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get();
            if (r.statusCode() == 200) {
                ok++;
            } else {
                assertThat(r.statusCode()).isEqualTo(429);
                assertThat(r.headers().firstValue("retry-after")).isPresent();
                assertThat(r.headers().firstValue("x-ratelimit-limit")).contains("5");
                assertThat(r.headers().firstValue("x-ratelimit-remaining")).contains("0");
                assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("RL");
                limited++;
            }
        }
        assertThat(ok).isEqualTo(5);
        assertThat(limited).isEqualTo(59);
        // the key is the trusted client address: another client behind the same proxy has its own bucket
        assertThat(get("/limited/ip", "x-forwarded-for", "198.51.100.1").statusCode()).isEqualTo(200);
        // and a spoofed left-most entry does not escape the limit (one trusted hop)
        assertThat(get("/limited/ip", "x-forwarded-for", "1.2.3.4, 203.0.113.7").statusCode()).isEqualTo(429);
    }

    @Test
    void rateLimitKeyedByHeader() throws Exception {
        for (int i = 0; i < 2; i++) {
            assertThat(get("/limited/header", "x-api-key", "k1").statusCode()).isEqualTo(200);
        }
        assertThat(get("/limited/header", "x-api-key", "k1").statusCode()).isEqualTo(429);
        assertThat(get("/limited/header", "x-api-key", "k2").statusCode()).isEqualTo(200);
    }

    @Test
    void corsPreflightIsAnsweredAndResponsesCarryTheHeaders() throws Exception {
        int before = app.requests.get();
        HttpResponse<String> pre = http.send(HttpRequest.newBuilder(proxy.uri("gw", "/public/cors"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("origin", "https://good.example").header("access-control-request-method", "POST").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(pre.statusCode()).isEqualTo(200);
        assertThat(pre.headers().firstValue("access-control-allow-origin")).contains("https://good.example");
        assertThat(pre.headers().firstValue("access-control-allow-methods")).contains("GET, POST");
        assertThat(pre.headers().firstValue("access-control-max-age")).contains("600");
        assertThat(pre.headers().firstValue("access-control-allow-credentials")).contains("true");
        assertThat(app.requests.get()).isEqualTo(before);
        HttpResponse<String> simple = get("/public/cors", "origin", "https://good.example");
        assertThat(simple.headers().firstValue("access-control-allow-origin")).contains("https://good.example");
        assertThat(simple.headers().firstValue("access-control-expose-headers")).contains("x-backend");
        HttpResponse<String> bad = get("/public/cors", "origin", "https://evil.example");
        assertThat(bad.statusCode()).isEqualTo(200);
        assertThat(bad.headers().firstValue("access-control-allow-origin")).isEmpty();
    }

    @Test
    void bodyOverTheLimitGets413() throws Exception {
        HttpResponse<String> fixed = http.send(HttpRequest.newBuilder(proxy.uri("gw", "/public/echo"))
                .POST(HttpRequest.BodyPublishers.ofString("x".repeat(2000))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(fixed.statusCode()).isEqualTo(413);
        // a chunked body that grows past the limit: raw socket, so the early 413 is read whatever the timing
        String chunk = "2bc\r\n" + "y".repeat(700) + "\r\n";
        try (dev.trellis.sidecar.testing.Raw raw = new dev.trellis.sidecar.testing.Raw(proxy.port("gw"))) {
            raw.send("POST /public/echo HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk);
            assertThat(raw.readUntilClose(5000)).startsWith("HTTP/1.1 413");
        }
        HttpResponse<String> small = http.send(HttpRequest.newBuilder(proxy.uri("gw", "/public/echo"))
                .POST(HttpRequest.BodyPublishers.ofString("x".repeat(1000))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(small.statusCode()).isEqualTo(200);
        HttpResponse<String> exempt = http.send(HttpRequest.newBuilder(proxy.uri("gw", "/public/big"))
                .POST(HttpRequest.BodyPublishers.ofString("x".repeat(5000))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(exempt.statusCode()).isEqualTo(200);
    }

    static Object translate(String text, boolean json) {
        return dev.trellis.sidecar.config.envoy.BootstrapTranslator.translate(BootstrapLoader.parse(text, json));
    }

    @Test
    void configErrorsNameTheField() {
        String vh = j("{'name': 'v', 'domains': ['*'], 'routes': [{'match': {'prefix': '/'}, 'route': {'cluster': 'app'},"
                + "'typed_per_filter_config': {'nope': " + typed("envoy.extensions.filters.http.buffer.v3.BufferPerRoute", "'disabled': true") + "}}]}");
        assertThatThrownBy(() -> translate(bootstrap(listenerWithFilters("l", "", vh, "", null), cluster("app", "", 1)), false))
                .isInstanceOf(ConfigException.class).hasMessageContaining("typed_per_filter_config[nope]");
        String jwtFromParams = j("{'name': 'jwt', 'typed_config': " + typed(JWT, "'providers': {'p': {'local_jwks': {'inline_string': '{\\\"keys\\\": []}'}, 'from_params': ['t']}}") + "}");
        assertThatThrownBy(() -> translate(bootstrap(listenerWithFilters("l", "", dev.trellis.sidecar.testing.Boot.vhost(), jwtFromParams, null),
                cluster("app", "", 1)), false))
                .isInstanceOf(ConfigException.class).hasMessageContaining("providers[p].from_params: not supported");
        String http = j("{'name': 'x', 'typed_config': " + typed("envoy.extensions.filters.http.fault.v3.HTTPFault", "'max_active_faults': 3") + "}");
        assertThatThrownBy(() -> translate(bootstrap(listenerWithFilters("l", "", dev.trellis.sidecar.testing.Boot.vhost(), http, null),
                cluster("app", "", 1)), false))
                .isInstanceOf(ConfigException.class).hasMessageContaining("typed_config.max_active_faults: not supported");
    }

}
