package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.sidecar.gateway.MeshGateway;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Jwts;
import dev.trellis.sidecar.testing.TestPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code trellis gateway} against a real control plane and real services behind their sidecars:
 * the Gateway policy becomes the gateway's HTTPS listener, routes to two services, JWT on one of them.
 */
class GatewayMeshTest {
    static Mesh mesh;
    static TestPki pki;
    static Jwts keys;
    static MeshGateway gateway;
    static HttpClient https;

    @BeforeAll
    static void start() throws Exception {
        mesh = new Mesh(Duration.ofSeconds(5));
        pki = new TestPki();
        keys = new Jwts("gw");
        Path jwks = Files.writeString(pki.dir.resolve("jwks.json"), keys.jwks(false));
        Path[] leaf = pki.leaf("edge", "spiffe://trellis.local/ns/default/sa/edge");
        for (String svc : new String[] {"users", "web"}) {
            Backend app = new Backend(svc);
            mesh.closeables.add(app);
            MeshSidecar.Options o = MeshSidecar.Options.of(svc, app.port(), mesh.address())
                    .withPorts(0, Mesh.freePort(), 0)
                    .withTiming(Mesh.FAST_HEALTH, Duration.ofSeconds(5), Duration.ZERO, 1);
            mesh.sidecar(o);
        }
        assertThat(mesh.put("Gateway", "edge", """
                kind: Gateway
                name: edge
                spec:
                  port: 8443
                  tls: {certFile: /nonexistent/policy.crt, keyFile: /nonexistent/policy.key}
                  jwt: {issuer: https://issuer.test, audiences: [api], jwksFile: "%s"}
                  routes:
                    - {pathPrefix: /users, service: users, requireJwt: true, rewritePrefix: /u}
                    - {pathPrefix: /, service: web}
                """.formatted(jwks))).isBetween(200, 299);
        MeshGateway.Options o = MeshGateway.Options.of("edge", mesh.address());
        gateway = MeshGateway.start(new MeshGateway.Options(o.name(), o.controlPlane(), OptionalInt.of(0), OptionalInt.empty(),
                Optional.of(leaf[0]), Optional.of(leaf[1]), 0, "g1", Duration.ofMillis(200), Duration.ZERO, 1));
        mesh.closeables.add(gateway);
        https = HttpClient.newBuilder().sslContext(pki.clientContext()).connectTimeout(Duration.ofSeconds(2)).build();
        await().atMost(Duration.ofSeconds(30)).until(() -> gateway.sidecar().ready()
                && gateway.listenerAddress(MeshGateway.HTTPS) != null && get("/web", null).statusCode() == 200);
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    static HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://localhost:"
                + gateway.listenerAddress(MeshGateway.HTTPS).getPort() + path)).timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("authorization", "Bearer " + token);
        }
        return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
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
}
