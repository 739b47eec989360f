package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.HTTP2;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.rbac;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static dev.trellis.sidecar.testing.Boot.withFilters;
import static dev.trellis.sidecar.testing.MeshPki.spiffe;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.GrpcEcho;
import dev.trellis.sidecar.testing.MeshPki;
import dev.trellis.sidecar.testing.Proxy;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Authorization between real sidecars over mTLS with SVIDs from the mesh CA: an inbound sidecar
 * for service b with RBAC filters as the control plane compiles them, an outbound sidecar that
 * calls it as a, c or d (one cluster per identity), and raw TLS clients for what no well-behaved
 * client sends.
 */
class AuthzTest {
    static MeshPki pki;
    static Backend app;
    static Proxy inbound;
    static Proxy outbound;
    static Path[] svidA;
    static Path[] svidC;
    static HttpClient http = HttpClient.newHttpClient();

    static String authenticated(String service) {
        return j("{'authenticated': {'principal_name': {'exact': '" + spiffe(service) + "'}}}");
    }

    static String method(String m) {
        return j("{'header': {'name': ':method', 'string_match': {'exact': '" + m + "'}}}");
    }

    static String path(String kind, String value) {
        return j("{'url_path': {'path': {'" + kind + "': '" + value + "'}}}");
    }

    /** AccessPolicy b: default deny; allow a; allow c GET /public/* and /status; deny c /admin/*. */
    static final String[] STRICT = {
        rbac("DENY", j("{'deny-0': {'permissions': [{'and_rules': {'rules': [{'or_rules': {'rules': [" + path("prefix", "/admin/") + "]}}]}}],"
                + "'principals': [{'or_ids': {'ids': [" + authenticated("c") + "]}}]}}")),
        rbac("ALLOW", j("{'allow-1': {'permissions': [{'any': true}], 'principals': [{'or_ids': {'ids': [" + authenticated("a") + "]}}]},"
                + "'allow-2': {'permissions': [{'and_rules': {'rules': [{'or_rules': {'rules': [" + method("GET") + "]}},"
                + "{'or_rules': {'rules': [" + path("prefix", "/public/") + "," + path("exact", "/status") + "]}}]}}],"
                + "'principals': [{'or_ids': {'ids': [" + authenticated("c") + "]}}]}}"))
    };
    /** AccessPolicy b: default allow; deny c on /secret. */
    static final String[] OPEN = {
        rbac("DENY", j("{'deny-0': {'permissions': [" + path("prefix", "/secret") + "], 'principals': [" + authenticated("c") + "]}}"))
    };
    /** AccessPolicy b: default deny, no rules. */
    static final String[] CLOSED = {rbac("ALLOW", "{}")};

    static String downstreamTls(Path[] svid, boolean requireClient) {
        return j("{'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',"
                + "'require_client_certificate': " + requireClient + ","
                + "'common_tls_context': {'alpn_protocols': ['h2', 'http/1.1'], 'tls_certificates': [{'certificate_chain': {'filename': '" + svid[0] + "'}, 'private_key': {'filename': '" + svid[1] + "'}}],"
                + "'validation_context': {'trusted_ca': {'filename': '" + pki.bundle() + "'}}}}}");
    }

    static String upstreamTls(Path[] svid, String expect) {
        return j("'transport_socket': {'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',"
                + "'sni': 'localhost', 'common_tls_context': {'tls_certificates': [{'certificate_chain': {'filename': '" + svid[0] + "'}, 'private_key': {'filename': '" + svid[1] + "'}}],"
                + "'validation_context': {'trusted_ca': {'filename': '" + pki.bundle() + "'}, 'match_typed_subject_alt_names': [{'san_type': 'URI', 'matcher': {'exact': '" + expect + "'}}]}}}}");
    }

    static String byHeader(String value) {
        return j("{'match': {'prefix': '/', 'headers': [{'name': 'x-to', 'string_match': {'exact': '" + value + "'}}]}, 'route': {'cluster': '" + value + "'}}");
    }

    @BeforeAll
    static void start() throws Exception {
        pki = new MeshPki();
        app = new Backend("app");
        Path[] b = pki.serverSvid("b");
        svidA = pki.svid("a");
        svidC = pki.svid("c");
        Path[] d = pki.svid("d");
        inbound = Proxy.start(bootstrap(
                withFilters(listener("strict", "", vhost(route("/", "app")), downstreamTls(b, true)), STRICT) + ","
                        + withFilters(listener("open", "", vhost(route("/", "app")), downstreamTls(b, true)), OPEN) + ","
                        + withFilters(listener("closed", "", vhost(route("/", "app")), downstreamTls(b, true)), CLOSED),
                cluster("app", "", app.port())));
        StringBuilder clusters = new StringBuilder();
        StringBuilder routes = new StringBuilder();
        String[][] callers = {{"a", "strict"}, {"c", "strict"}, {"d", "strict"}, {"c", "open"}, {"a", "open"}, {"a", "closed"}};
        for (String[] cl : callers) {
            String name = cl[0] + "-" + cl[1];
            Path[] svid = cl[0].equals("a") ? svidA : cl[0].equals("c") ? svidC : d;
            clusters.append(cluster(name, upstreamTls(svid, spiffe("b")), inbound.port(cl[1]))).append(',');
            routes.append(byHeader(name)).append(',');
        }
        clusters.append(cluster("c-strict-h2", upstreamTls(svidC, spiffe("b")) + "," + HTTP2, inbound.port("strict")));
        routes.append(byHeader("c-strict-h2"));
        outbound = Proxy.start(bootstrap(listener("out", "", vhost(routes.toString())), clusters.toString()));
    }

    @AfterAll
    static void stop() {
        outbound.close();
        inbound.close();
        app.close();
    }

    static HttpResponse<String> call(String to, String method, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(outbound.uri("out", path)).header("x-to", to)
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertDenied(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("RBAC");
        assertThat(r.body()).isEqualTo("RBAC: access denied\n");
    }

    @Test
    void allowedServicePassesOtherServicesAre403() throws Exception {
        HttpResponse<String> ok = call("a-strict", "POST", "/admin/users");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("x-backend")).contains("app");
        assertDenied(call("d-strict", "GET", "/public/x"));
        int before = app.requests.get();
        assertDenied(call("d-strict", "GET", "/status"));
        assertThat(app.requests.get()).as("a denied request never reaches the app").isEqualTo(before);
    }

    @Test
    void methodsAndPathsOfARule() throws Exception {
        assertThat(call("c-strict", "GET", "/public/x").statusCode()).isEqualTo(200);
        assertThat(call("c-strict", "GET", "/public/x?q=/admin/").statusCode()).isEqualTo(200);
        assertThat(call("c-strict", "GET", "/status").statusCode()).isEqualTo(200);
        assertDenied(call("c-strict", "POST", "/public/x"));
        assertDenied(call("c-strict", "GET", "/status/more"));
        assertDenied(call("c-strict", "GET", "/publicity"));
        assertDenied(call("c-strict", "GET", "/other"));
    }

    @Test
    void denyRuleWinsAndDefaultsApply() throws Exception {
        assertDenied(call("c-strict", "GET", "/admin/x"));
        // default allow: everyone but what a deny rule names
        assertThat(call("c-open", "DELETE", "/anything").statusCode()).isEqualTo(200);
        assertThat(call("a-open", "GET", "/secret").statusCode()).isEqualTo(200);
        assertDenied(call("c-open", "GET", "/secret/x"));
        // default deny without rules: nobody
        assertDenied(call("a-closed", "GET", "/"));
    }

    @Test
    void grpcCallerDeniedGetsPermissionDenied() throws Exception {
        ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", outbound.port("out")).usePlaintext().build();
        try {
            Metadata md = new Metadata();
            md.put(Metadata.Key.of("x-to", Metadata.ASCII_STRING_MARSHALLER), "c-strict-h2");
            var intercepted = ClientInterceptors.intercept(ch, MetadataUtils.newAttachHeadersInterceptor(md));
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(intercepted, GrpcEcho.UNARY, CallOptions.DEFAULT, "x".getBytes()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                        assertThat(e.getStatus().getDescription()).isEqualTo("RBAC: access denied");
                    });
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void denialsAreCountedInMetrics() throws Exception {
        assertDenied(call("a-closed", "GET", "/counted"));
        assertThat(inbound.sidecar.metrics().scrape()).containsPattern("trellis_rbac_denied_total\\{listener=\"closed\"\\} [1-9]");
    }

    /** One raw HTTP/1.1 request over TLS with {@code svid} (none when null); the whole response. */
    static String rawTls(String listener, Path[] svid, String request) throws Exception {
        try (SSLSocket s = (SSLSocket) pki.clientContext(svid).getSocketFactory().createSocket("127.0.0.1", inbound.port(listener))) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    out.write(buf, 0, n);
                }
            } catch (IOException e) {
                // closed by the peer
            }
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void rawClientWithItsOwnCertificateIsJudgedByIt() throws Exception {
        assertThat(rawTls("strict", svidC, "GET /public/x HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 200");
        assertThat(rawTls("strict", svidC, "GET /admin/x HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 403");
        assertThat(rawTls("strict", svidA, "GET /admin/x HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 200");
    }

    static String get(Path[] svid, String target) throws Exception {
        return rawTls("strict", svid, "GET " + target + " HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n");
    }

    /** c may GET /public/* but nothing under /admin/: tricks on the path change neither the decision nor what the app gets. */
    @Test
    void pathConfusionIsResolvedBeforeTheDecision() throws Exception {
        String[] denied = {"/public/../admin/x", "//admin/x", "/public/%2e%2e/admin/x", "/public/.%2E/admin/x", "/admin%2Fx",
            "/public%2F..%2Fadmin/x", "/public%5C..%5Cadmin/x", "/admin;x/y", "/public/..;/admin/x", "/%61dmin/x", "/./admin/x"};
        for (String p : denied) {
            assertThat(get(svidC, p)).as(p).startsWith("HTTP/1.1 403").contains("x-trellis-response-flags: RBAC");
        }
        String[][] allowed = {{"/admin/../public/x", "/public/x"}, {"/public//x", "/public/x"}, {"/public;jsessionid=1/x", "/public/x"},
            {"/public/x#/../../admin", "/public/x"}, {"/public/%78?q=/../admin", "/public/x?q=/../admin"}, {"/x/../status", "/status"}};
        for (String[] p : allowed) {
            assertThat(get(svidC, p[0])).as(p[0]).startsWith("HTTP/1.1 200").contains("x-uri: " + p[1] + "\r\n");
        }
        assertThat(get(svidC, "/public/a%00b")).startsWith("HTTP/1.1 400");
        assertThat(get(svidA, "/public/a%00b")).as("refused whoever asks").startsWith("HTTP/1.1 400");
    }
}
