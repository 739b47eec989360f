package dev.trellis.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.common.cli.Cli;
import dev.trellis.controlplane.cli.ControlPlaneMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The policy REST API, persistence, the watched policy directory and the CLI, over real sockets. */
class PolicyApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    @TempDir
    Path tmp;
    private ControlPlane cp;

    @AfterEach
    void stop() {
        if (cp != null) cp.close();
    }

    private ControlPlane start(Path policyDir) throws Exception {
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(tmp.resolve("data")).policyDir(policyDir)
                .policyPollMillis(100).start();
        return cp;
    }

    private HttpResponse<String> call(String method, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.adminPort() + path))
                .header("Authorization", "Bearer " + cp.adminToken())
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode ok(String method, String path, String body) throws Exception {
        HttpResponse<String> r = call(method, path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    @Test
    void invalidChangeIsRefusedWith400NamingThePathAndChangesNothing() throws Exception {
        start(null);
        ok("PUT", "/api/v1/policy/Service/echo", "kind: Service\nname: echo\nspec:\n  timeout: 5s\n");
        HttpResponse<String> r = call("POST", "/api/v1/policy", """
                kind: Service
                name: users
                spec: {timeout: 1s}
                ---
                kind: Service
                name: echo
                spec: {timeout: -5s}
                """);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(r.body()).path("errors").get(0).asText())
                .isEqualTo("Service/echo: spec.timeout: -5s (expected: > 0)");
        JsonNode all = ok("GET", "/api/v1/policy", null);
        assertThat(all.path("revision").asLong()).isEqualTo(1);
        assertThat(all.path("documents")).hasSize(1);
        assertThat(all.path("documents").get(0).path("spec").path("timeout").asText()).isEqualTo("5s");

        HttpResponse<String> v = call("POST", "/api/v1/policy:validate", "{\"kind\":\"Route\",\"name\":\"r\",\"spec\":{}}");
        assertThat(v.statusCode()).isEqualTo(400);
        assertThat(v.body()).contains("Route/r: spec.service: missing (expected: a string)");
        assertThat(call("POST", "/api/v1/policy:validate", "kind: Service\nname: x\n").statusCode()).isEqualTo(200);
        assertThat(ok("GET", "/api/v1/policy/history", null).path("current").asLong()).isEqualTo(1);
    }

    @Test
    void revisionsHistoryRollbackAndRestartWithTheSameDataDir() throws Exception {
        start(null);
        assertThat(ok("PUT", "/api/v1/policy/Service/echo", "{\"timeout\": \"2s\"}").path("revision").asLong()).isEqualTo(1);
        assertThat(ok("PUT", "/api/v1/policy/Service/echo", "{\"timeout\": \"3s\"}").path("revision").asLong()).isEqualTo(2);
        assertThat(ok("PUT", "/api/v1/policy/Service/echo", "{\"timeout\": \"3s\"}").path("unchanged").asBoolean()).isTrue();
        assertThat(ok("DELETE", "/api/v1/policy/Service/echo", null).path("revision").asLong()).isEqualTo(3);
        assertThat(call("GET", "/api/v1/policy/Service/echo", null).statusCode()).isEqualTo(404);
        JsonNode rb = ok("POST", "/api/v1/policy:rollback?to=1", null);
        assertThat(rb.path("revision").asLong()).isEqualTo(4);
        assertThat(ok("GET", "/api/v1/policy/Service/echo", null).path("spec").path("timeout").asText()).isEqualTo("2s");
        assertThat(call("POST", "/api/v1/policy:rollback?to=99", null).statusCode()).isEqualTo(400);
        assertThat(cp.policy().current().policy().services().get("echo").timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(Files.exists(tmp.resolve("data/policy/store.json"))).isTrue();
        assertThat(Files.exists(tmp.resolve("data/policy/store.json.tmp"))).isFalse();

        cp.close();
        start(null);
        assertThat(cp.policy().current().revision()).isEqualTo(4);
        assertThat(ok("GET", "/api/v1/policy/Service/echo", null).path("spec").path("timeout").asText()).isEqualTo("2s");
        JsonNode history = ok("GET", "/api/v1/policy/history", null);
        assertThat(history.path("revisions")).extracting(n -> n.path("revision").asLong()).containsExactly(0L, 1L, 2L, 3L, 4L);
        assertThat(history.path("revisions").get(4).path("source").asText()).isEqualTo("rollback to 1");
        assertThat(ok("PUT", "/api/v1/policy/Service/echo", "{\"timeout\": \"9s\"}").path("revision").asLong()).isEqualTo(5);
    }

    @Test
    void policyDirectoryEditsApplyWithinASecondAndBadEditsChangeNothing() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("policy"));
        Files.writeString(dir.resolve("echo.yaml"), "kind: Service\nname: echo\nspec: {timeout: 2s}\n");
        start(dir);
        assertThat(cp.policy().current().policy().services().get("echo").timeout()).isEqualTo(Duration.ofSeconds(2));
        long rev = cp.policy().current().revision();

        Files.writeString(dir.resolve("echo.yaml"), "kind: Service\nname: echo\nspec: {timeout: 4s}\n");
        long t0 = System.nanoTime();
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20)).until(() ->
                cp.policy().current().policy().services().get("echo").timeout().equals(Duration.ofSeconds(4)));
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(1000);
        assertThat(cp.policy().current().revision()).isEqualTo(rev + 1);

        Files.writeString(dir.resolve("echo.yaml"), "kind: Service\nname: echo\nspec: {timeout: -1s}\n");
        Thread.sleep(400);
        assertThat(cp.policy().current().revision()).isEqualTo(rev + 1);

        Files.delete(dir.resolve("echo.yaml"));
        await().atMost(Duration.ofSeconds(1)).until(() -> cp.policy().current().policy().services().isEmpty());
    }

    private String cli(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new ControlPlaneMain());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertThat(code).as("exit code; stdout:\n" + out + "\nstderr:\n" + err).isEqualTo(expectedExit);
        return out + err.toString();
    }

    @Test
    void cliAppliesGetsValidatesListsAndRollsBack() throws Exception {
        start(null);
        String admin = "--control-plane-admin=http://127.0.0.1:" + cp.adminPort();
        String token = "--admin-token-file=" + tmp.resolve("data").resolve("admin.token");
        Path dir = Files.createDirectories(tmp.resolve("apply"));
        Files.writeString(dir.resolve("a.yaml"), "kind: Service\nname: echo\nspec: {timeout: 2s}\n");
        Files.writeString(dir.resolve("b.yaml"), "kind: Route\nname: canary\nspec:\n  service: echo\n  rules:\n"
                + "    - destinations: [{subset: {version: v2}, weight: 10}, {subset: {version: v1}, weight: 90}]\n");
        assertThat(cli(0, "policy", "apply", "-f", dir.toString(), admin, token))
                .contains("applied revision 1:", "+ Route/canary", "+ Service/echo");
        assertThat(cli(0, "policy", "get", admin, token)).contains("kind: Service", "name: echo", "timeout: 2s");
        assertThat(cli(0, "policy", "get", "service", "echo", "-o", "json", admin, token)).contains("\"timeout\" : \"2s\"");

        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "kind: Service\nname: echo\nspec: {timeout: -5s}\n");
        assertThat(cli(1, "policy", "validate", "-f", bad.toString(), admin, token))
                .contains("Service/echo: spec.timeout: -5s (expected: > 0)");
        assertThat(cli(1, "policy", "validate", "--offline", "-f", bad.toString()))
                .contains("Service/echo: spec.timeout: -5s (expected: > 0)");
        assertThat(cli(1, "policy", "apply", "-f", bad.toString(), admin, token))
                .contains("refused (HTTP 400), nothing changed", "Service/echo: spec.timeout: -5s (expected: > 0)");

        Files.writeString(dir.resolve("a.yaml"), "kind: Service\nname: echo\nspec: {timeout: 7s}\n");
        assertThat(cli(0, "policy", "apply", "-f", dir.toString(), admin, token)).contains("applied revision 2:", "~ Service/echo");
        assertThat(cli(0, "policy", "history", admin, token)).contains("REVISION", "~ Service/echo");
        assertThat(cli(0, "policy", "rollback", "1", admin, token)).contains("rolled back to revision 1 as revision 3");
        assertThat(cp.policy().current().policy().services().get("echo").timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(cli(0, "status", admin, token)).contains("NODE", "(no proxies connected)", "registry: 0 instance(s)");
        assertThat(cli(1, "status", "--control-plane-admin=http://127.0.0.1:1", token)).contains("connection refused");
        assertThat(cli(2, "token")).contains("Usage:", "create", "revoke");
    }

    @Test
    void adminGuardProtectsTheApiButNotHealthOrMetrics() throws Exception {
        cp = ControlPlane.builder().port(0).adminPort(0)
                .adminGuard((method, path, headers) -> "Bearer s3cret".equals(headers.getFirst("Authorization"))
                        ? null : "authorization: missing or wrong operator token (expected: Bearer <token>)")
                .start();
        HttpResponse<String> denied = call("GET", "/api/v1/policy", null);
        assertThat(denied.statusCode()).isEqualTo(401);
        assertThat(denied.body()).contains("missing or wrong operator token");
        assertThat(call("GET", "/health", null).statusCode()).isEqualTo(200);
        assertThat(call("GET", "/ready", null).statusCode()).isEqualTo(200);
        assertThat(call("GET", "/metrics", null).statusCode()).isEqualTo(200);
        HttpResponse<String> allowed = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + cp.adminPort() + "/api/v1/policy"))
                .header("Authorization", "Bearer s3cret").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(allowed.statusCode()).isEqualTo(200);
    }
}
