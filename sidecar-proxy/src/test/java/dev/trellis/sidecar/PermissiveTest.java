package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.permissive;
import static dev.trellis.sidecar.testing.Boot.rbac;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static dev.trellis.sidecar.testing.Boot.withFilters;
import static dev.trellis.sidecar.testing.MeshPki.spiffe;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.MeshPki;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.Raw;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * PERMISSIVE mTLS: plaintext and mTLS on one port, told apart by the first bytes. A plaintext
 * peer has no identity, so only default allow or rules for unauthenticated callers let it in;
 * a STRICT port refuses it.
 */
class PermissiveTest {
    static MeshPki pki;
    static Backend app;
    static Proxy inbound;
    static Proxy outbound;
    static final HttpClient http = HttpClient.newHttpClient();

    /** Only a: default deny, allow a. */
    static final String ONLY_A = rbac("ALLOW", j("{'a': {'permissions': [{'any': true}], 'principals': [{'authenticated': {'principal_name': {'exact': '"
            + spiffe("a") + "'}}}]}}"));
    /** Default allow, but callers without a certificate may not touch /private. */
    static final String NO_ANONYMOUS_PRIVATE = rbac("DENY", j("{'anon': {'permissions': [{'url_path': {'path': {'prefix': '/private'}}}], "
            + "'principals': [{'not_id': {'authenticated': {}}}]}}"));

    static String tls(Path[] svid) {
        return j("{'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',"
                + "'require_client_certificate': false,"
                + "'common_tls_context': {'alpn_protocols': ['h2', 'http/1.1'], 'tls_certificates': [{'certificate_chain': {'filename': '" + svid[0] + "'}, 'private_key': {'filename': '" + svid[1] + "'}}],"
                + "'validation_context': {'trusted_ca': {'filename': '" + pki.bundle() + "'}}}}}");
    }

    static String strictTls(Path[] svid) {
        return tls(svid).replace(j("'require_client_certificate': false"), j("'require_client_certificate': true"));
    }

    static String permissiveListener(String name, Path[] svid, String... filters) {
        return permissive(withFilters(listener(name, "", vhost(route("/", "app")), tls(svid)), filters),
                withFilters(listener(name, "", vhost(route("/", "app"))), filters));
    }

    static String upstream(Path[] svid) {
        return j("'transport_socket': {'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',"
                + "'sni': 'localhost', 'common_tls_context': {'tls_certificates': [{'certificate_chain': {'filename': '" + svid[0] + "'}, 'private_key': {'filename': '" + svid[1] + "'}}],"
                + "'validation_context': {'trusted_ca': {'filename': '" + pki.bundle() + "'}, 'match_typed_subject_alt_names': [{'san_type': 'URI', 'matcher': {'exact': '" + spiffe("b") + "'}}]}}}}");
    }

    @BeforeAll
    static void start() throws Exception {
        pki = new MeshPki();
        app = new Backend("app");
        Path[] b = pki.serverSvid("b");
        Path[] a = pki.svid("a");
        Path[] c = pki.svid("c");
        inbound = Proxy.start(bootstrap(
                permissiveListener("only-a", b, ONLY_A) + ","
                        + permissiveListener("open", b, NO_ANONYMOUS_PRIVATE) + ","
                        + listener("strict", "", vhost(route("/", "app")), strictTls(b)),
                cluster("app", "", app.port())));
        String routes = j("{'match': {'prefix': '/', 'headers': [{'name': 'x-as', 'string_match': {'exact': 'c'}}]}, 'route': {'cluster': 'c'}}") + ","
                + j("{'match': {'prefix': '/', 'headers': [{'name': 'x-to', 'string_match': {'exact': 'open'}}]}, 'route': {'cluster': 'a-open'}}") + ","
                + route("/", "a");
        outbound = Proxy.start(bootstrap(listener("out", "", vhost(routes)),
                cluster("a", upstream(a), inbound.port("only-a")) + ","
                        + cluster("c", upstream(c), inbound.port("only-a")) + ","
                        + cluster("a-open", upstream(a) + "," + dev.trellis.sidecar.testing.Boot.HTTP2, inbound.port("open"))));
    }

    @AfterAll
    static void stop() {
        outbound.close();
        inbound.close();
        app.close();
    }

    static HttpResponse<String> plain(String listener, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + inbound.port(listener) + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> viaSidecar(String header, String value, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(outbound.uri("out", path)).header(header, value).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void mtlsAndPlaintextShareThePort() throws Exception {
        HttpResponse<String> m = viaSidecar("x-as", "a", "/x");
        assertThat(m.statusCode()).isEqualTo(200);
        assertThat(m.headers().firstValue("x-backend")).contains("app");
        assertThat(viaSidecar("x-as", "c", "/x").statusCode()).as("mTLS identity still decides").isEqualTo(403);
        HttpResponse<String> p = plain("only-a", "/x");
        assertThat(p.statusCode()).as("plaintext has no identity: default deny").isEqualTo(403);
        assertThat(p.headers().firstValue("x-trellis-response-flags")).contains("RBAC");
    }

    @Test
    void plaintextPassesDefaultAllowButNotRulesAgainstTheUnauthenticated() throws Exception {
        assertThat(plain("open", "/x").statusCode()).isEqualTo(200);
        assertThat(plain("open", "/private/x").statusCode()).isEqualTo(403);
        assertThat(viaSidecar("x-to", "open", "/private/x").statusCode()).as("mTLS peer over h2").isEqualTo(200);
    }

    @Test
    void forwardedProtoSaysHowThisConnectionCame() throws Exception {
        assertThat(Backend.echoedHeaders(plain("open", "/echo").body())).containsEntry("x-forwarded-proto", "http");
        assertThat(Backend.echoedHeaders(viaSidecar("x-to", "open", "/echo").body())).containsEntry("x-forwarded-proto", "https");
    }

    @Test
    void plaintextHttp2PriorKnowledgeOnAPermissivePort() throws Exception {
        HttpClient h2c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> r = h2c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + inbound.port("open") + "/x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
    }

    @Test
    void strictPortRefusesPlaintext() throws Exception {
        try (Raw raw = new Raw(inbound.port("strict"))) {
            String out = raw.send("GET / HTTP/1.1\r\nHost: b\r\n\r\n").readUntilClose(5_000);
            assertThat(out).doesNotContain("HTTP/1.1").doesNotContain("<still open>");
        }
        assertThatThrownBy(() -> plain("strict", "/x")).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void permissiveConfigIsCheckedAtLoad() {
        String good = permissiveListener("p", new Path[] {Path.of("c.pem"), Path.of("k.pem")});
        String swapped = good.replace(j("'transport_protocol': 'raw_buffer'"), j("'transport_protocol': 'tls'"));
        assertThatThrownBy(() -> load(swapped)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("filter_chains[*].filter_chain_match.transport_protocol: 'tls', 'tls' (expected: 'tls' and 'raw_buffer', one each)");
        String differs = permissive(listener("p", "", vhost(route("/", "app")), tls(new Path[] {Path.of("c.pem"), Path.of("k.pem")})),
                withFilters(listener("p", "", vhost(route("/", "app"))), ONLY_A));
        assertThatThrownBy(() -> load(differs))
                .hasMessageContaining("filter_chains[1].filters[0].typed_config: differs from the 'tls' chain's");
        String otherFilter = good.replace("envoy.filters.listener.tls_inspector", "envoy.filters.listener.proxy_protocol")
                .replace(j(", 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'}"), "");
        assertThatThrownBy(() -> load(otherFilter))
                .hasMessageContaining("listener_filters[0].name: 'envoy.filters.listener.proxy_protocol' (expected: envoy.filters.listener.tls_inspector)");
    }

    static void load(String listener) {
        BootstrapTranslator.translate(BootstrapLoader.parse(bootstrap(listener, cluster("app", "", 1)), false));
    }
}
