package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.sidecar.gateway.MeshGateway;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.JwksServer;
import dev.trellis.sidecar.testing.Jwts;
import dev.trellis.sidecar.testing.TestPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code trellis gateway} against a real control plane and real services behind their sidecars:
 * the Gateway policy becomes the gateway's HTTPS listener, routes to two services, JWT on one of
 * them (keys from a remote JWKS trusted with the policy's CA file), a rate-limited route, and a
 * service with two subsets whose {@code Route} document (header rule, 90/10 split) applies at the gateway.
 */
class GatewayMeshTest {
    static Mesh mesh;
    static TestPki pki;
    static Jwts keys;
    static JwksServer jwks;
    static Map<String, Backend> shop = new TreeMap<>();
    static MeshGateway gateway;
    static HttpClient https;

    @BeforeAll
    @Timeout(value = 300, unit = TimeUnit.SECONDS) // five proxies and a control plane: slow on a loaded machine
    static void start() throws Exception {
        mesh = new Mesh(Duration.ofSeconds(5));
        pki = new TestPki();
        keys = new Jwts("gw");
        jwks = new JwksServer(pki.serverContext("jwks"), keys.jwks(false));
        mesh.closeables.add(jwks);
        Path[] leaf = pki.leaf("edge", "spiffe://trellis.local/ns/default/sa/edge");
        for (String svc : new String[] {"users", "web"}) {
            Backend app = new Backend(svc);
            mesh.closeables.add(app);
            MeshSidecar.Options o = MeshSidecar.Options.of(svc, app.port(), mesh.address())
                    .withPorts(0, Mesh.freePort(), 0)
                    .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(5), Duration.ZERO, 1);
            mesh.sidecar(o);
        }
        for (String version : new String[] {"v1", "v2"}) {
            Backend app = new Backend("shop-" + version);
            mesh.closeables.add(app);
            shop.put(version, app);
            MeshSidecar.Options o = MeshSidecar.Options.of("shop", app.port(), mesh.address())
                    .withPorts(0, Mesh.freePort(), 0)
                    .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(5), Duration.ZERO, 1);
            mesh.sidecar(o.withIdentity("shop-" + version, o.address(), o.protocol(), Map.of("version", version)));
        }
        assertThat(mesh.put("Route", "shop-canary", """
                kind: Route
                name: shop-canary
                spec:
                  service: shop
                  rules:
                    - match: {pathPrefix: /s, headers: {x-canary: "1"}}
                      destinations: [{subset: {version: v2}, weight: 100}]
                      requestHeaders: {set: {x-route: canary}}
                    - match: {pathPrefix: /}
                      destinations: [{subset: {version: v1}, weight: 90}, {subset: {version: v2}, weight: 10}]
                """)).isBetween(200, 299);
        assertThat(mesh.put("Gateway", "edge", """
                kind: Gateway
                name: edge
                spec:
                  port: 8443
                  tls: {certFile: /nonexistent/policy.crt, keyFile: /nonexistent/policy.key}
                  jwt: {issuer: https://issuer.test, audiences: [api], jwksUri: "%s", jwksCaFile: "%s", jwksRefetchInterval: 1h}
                  routes:
                    - {pathPrefix: /users, service: users, requireJwt: true, rewritePrefix: /u}
                    - {pathPrefix: /limited, service: web, rateLimit: {requestsPerSecond: 1, burst: 5, key: client-ip}}
                    - {pathPrefix: /shop, service: shop, rewritePrefix: /s}
                    - {pathPrefix: /, service: web}
                """.formatted(jwks.uri(), pki.ca()))).isBetween(200, 299);
        MeshGateway.Options o = MeshGateway.Options.of("edge", mesh.address());
        gateway = MeshGateway.start(new MeshGateway.Options(o.name(), o.controlPlane(), OptionalInt.of(0), OptionalInt.empty(),
                Optional.of(leaf[0]), Optional.of(leaf[1]), 0, "g1", Duration.ofMillis(200), Duration.ZERO, 1));
        mesh.closeables.add(gateway);
        https = HttpClient.newBuilder().sslContext(pki.clientContext()).connectTimeout(Duration.ofSeconds(10)).build();
        await().atMost(Duration.ofSeconds(150)).ignoreExceptions().until(() -> gateway.sidecar().ready()
                && gateway.listenerAddress(MeshGateway.HTTPS) != null && get("/web", null).statusCode() == 200);
        // both subsets of shop have their endpoints at the gateway
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> get("/shop/x", null, "x-canary", "1").statusCode() == 200
                && get("/shop/x", null).statusCode() == 200);
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    static HttpResponse<String> get(String path, String token, String... headers) throws Exception {
        return send(https, path, token, headers);
    }

    static HttpResponse<String> send(HttpClient client, String path, String token, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://localhost:"
                + gateway.listenerAddress(MeshGateway.HTTPS).getPort() + path)).timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("authorization", "Bearer " + token);
        }
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JWTClaimsSet.Builder claims(String sub) {
        return Jwts.claims("https://issuer.test", "api", sub, Instant.now().plusSeconds(300));
    }

    static void assertInvalid(HttpResponse<String> r, String description) {
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("www-authenticate"))
                .contains("Bearer error=\"invalid_token\", error_description=\"" + description + "\"");
    }

    @Test
    void routesToTwoServicesWithJwtOnOne() throws Exception {
        HttpResponse<String> web = get("/web/page", null);
        assertThat(web.statusCode()).isEqualTo(200);
        assertThat(web.headers().firstValue("x-backend")).contains("web");
        assertThat(web.version()).isEqualTo(HttpClient.Version.HTTP_2);

        HttpResponse<String> denied = get("/users/1", null);
        assertThat(denied.statusCode()).isEqualTo(401);
        assertThat(denied.headers().firstValue("www-authenticate")).hasValueSatisfying(v ->
                assertThat(v).contains("error=\"invalid_token\"").contains("Jwt is missing"));

        String token = keys.rs256(Jwts.claims("https://issuer.test", "api", "alice", Instant.now().plusSeconds(300)).build());
        HttpResponse<String> users = get("/users/1", token);
        assertThat(users.statusCode()).isEqualTo(200);
        assertThat(users.headers().firstValue("x-backend")).contains("users");
        assertThat(users.headers().firstValue("x-uri")).contains("/u/1");
        assertThat(Backend.echoedHeaders(users.body())).containsEntry("x-jwt-sub", "alice").doesNotContainKey("authorization");

        String expired = keys.rs256(Jwts.claims("https://issuer.test", "api", "alice", Instant.now().minusSeconds(600)).build());
        assertThat(get("/users/1", expired).headers().firstValue("www-authenticate")).hasValueSatisfying(v ->
                assertThat(v).contains("Jwt is expired"));
    }

    @Test
    void invalidTokensAreRefusedBeforeTheService() throws Exception {
        Instant now = Instant.now();
        assertInvalid(get("/users/1", keys.rs256(Jwts.claims("https://issuer.test", "api", "a", now.minusSeconds(600)).build())),
                "Jwt is expired");
        assertInvalid(get("/users/1", keys.rs256(claims("a").notBeforeTime(Date.from(now.plusSeconds(600))).build())),
                "Jwt not yet valid");
        assertInvalid(get("/users/1", keys.rs256(Jwts.claims("https://evil.test", "api", "a", now.plusSeconds(300)).build())),
                "Jwt issuer is not configured");
        assertInvalid(get("/users/1", keys.rs256(Jwts.claims("https://issuer.test", "web", "a", now.plusSeconds(300)).build())),
                "Audiences in Jwt are not allowed");
        String good = keys.rs256(claims("alice").build());
        assertInvalid(get("/users/1", Jwts.withSignatureOf(keys.rs256(claims("mallory").build()), good)), "Jwt verification fails");
        assertInvalid(get("/users/1", Jwts.none(claims("mallory").build())), "Jwt algorithm 'none' is not allowed");
        // key confusion: HS256 "signed" with the RS256 public key, naming the RSA kid
        assertInvalid(get("/users/1", keys.hs256WithRsaPublicKey(claims("mallory").build())),
                "Jwks doesn't have key to match kid or alg from Jwt");
        assertThat(get("/users/1", good).statusCode()).isEqualTo(200);
    }

    @Test
    void unknownKidRefetchesTheRemoteKeysOnce() throws Exception {
        assertThat(get("/users/1", keys.rs256(claims("alice").build())).statusCode()).isEqualTo(200);
        int before = jwks.fetches.get();
        Jwts rotated = new Jwts("gw-rotated");
        jwks.serve(new JWKSet(List.of(keys.rsa.toPublicJWK(), rotated.rsa.toPublicJWK())).toString(false));
        HttpResponse<String> r = get("/users/1", rotated.rs256(claims("erin").build()));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Backend.echoedHeaders(r.body())).containsEntry("x-jwt-sub", "erin");
        assertThat(jwks.fetches.get()).isEqualTo(before + 1);
        // another unknown kid within jwksRefetchInterval (1h): refused without a fetch
        assertInvalid(get("/users/1", new Jwts("gw-third").rs256(claims("frank").build())),
                "Jwks doesn't have key to match kid or alg from Jwt");
        assertThat(jwks.fetches.get()).isEqualTo(before + 1);
    }

    @Test
    void rateLimitIsExactWith64ConcurrentClients() throws Exception {
        // 64 clients, each with its own TLS connection made first, send at one signal: the bucket
        // (burst 5, refilled at 1/s, the policy's slowest rate) lets the burst through and no more
        int port = gateway.listenerAddress(MeshGateway.HTTPS).getPort();
        javax.net.ssl.SSLSocketFactory tls = pki.clientContext().getSocketFactory();
        List<javax.net.ssl.SSLSocket> sockets = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(64);
        try {
            for (int i = 0; i < 64; i++) {
                javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) tls.createSocket("localhost", port);
                socket.setSoTimeout(20_000);
                socket.startHandshake();
                sockets.add(socket);
            }
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> heads = new ArrayList<>();
            for (javax.net.ssl.SSLSocket socket : sockets) {
                heads.add(pool.submit(() -> {
                    go.await();
                    socket.getOutputStream().write("GET /limited HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    socket.getOutputStream().flush();
                    String all = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                    return all.substring(0, Math.max(0, all.indexOf("\r\n\r\n"))).toLowerCase(java.util.Locale.ROOT);
                }));
            }
            long start = System.nanoTime();
            go.countDown();
            int ok = 0;
            int limited = 0;
            for (Future<String> f : heads) {
                String head = f.get(30, TimeUnit.SECONDS);
                if (head.startsWith("http/1.1 200")) {
                    ok++;
                } else {
                    assertThat(head).startsWith("http/1.1 429").contains("retry-after:")
                            .contains("x-ratelimit-limit: 5").contains("x-ratelimit-remaining: 0");
                    limited++;
                }
            }
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            // exactly the burst, plus the tokens the 1/s refill added while the 64 were decided (none
            // within the first second; the bound is the whole wall time, on a loaded machine a few
            // seconds). GatewayFiltersTest checks the bare exactness with a refill of 1/h.
            assertThat(ok).as("passed, all 64 answered in %s", took).isBetween(5, 5 + (int) (took.toMillis() / 1000));
            assertThat(ok + limited).isEqualTo(64);
        } finally {
            pool.shutdownNow();
            for (javax.net.ssl.SSLSocket socket : sockets) {
                socket.close();
            }
        }
    }

    @Test
    void routeDocumentOfTheServiceSplitsAndMatchesHeadersAtTheGateway() throws Exception {
        // header rule: all to v2, with the rule's request header, path rewritten by the gateway route
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = get("/shop/item", null, "x-canary", "1");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-backend")).contains("shop-v2");
            assertThat(r.headers().firstValue("x-uri")).contains("/s/item");
            assertThat(Backend.echoedHeaders(r.body())).containsEntry("x-route", "canary");
        }
        // 90/10 split by subset
        Map<String, Integer> seen = new TreeMap<>();
        int n = 300;
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = get("/shop/item", null);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(Backend.echoedHeaders(r.body())).doesNotContainKey("x-route");
            seen.merge(r.headers().firstValue("x-backend").orElseThrow(), 1, Integer::sum);
        }
        assertThat(seen.keySet()).containsExactly("shop-v1", "shop-v2");
        // expected 30 of 300 on v2 (sd 5.2): far outside [10, 60] only by a broken split
        assertThat(seen.get("shop-v2")).as("%s", seen).isBetween(10, 60);
    }
}
