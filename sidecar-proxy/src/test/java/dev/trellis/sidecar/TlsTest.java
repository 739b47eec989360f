package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.TestPki;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Two sidecars run mTLS from static files; a TLS listener offers h2 by ALPN. */
class TlsTest {
    static final String SPIFFE_A = "spiffe://test.local/ns/default/sa/a";
    static final String SPIFFE_B = "spiffe://test.local/ns/default/sa/b";
    static TestPki pki;
    static Backend app;
    static Proxy inbound;
    static Proxy outbound;

    static String downstreamTls(Path[] leaf, Path ca, boolean requireClient) {
        return j("{'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',"
                + (requireClient ? "'require_client_certificate': true," : "")
                + "'common_tls_context': {'alpn_protocols': ['h2', 'http/1.1'], 'tls_certificates': [{'certificate_chain': {'filename': '" + leaf[0] + "'}, 'private_key': {'filename': '" + leaf[1] + "'}}]"
                + (ca == null ? "" : ", 'validation_context': {'trusted_ca': {'filename': '" + ca + "'}}") + "}}}");
    }

    static String upstreamTls(Path[] leaf, Path ca, String expectUri) {
        return j("'transport_socket': {'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',"
                + "'sni': 'localhost', 'common_tls_context': {'tls_certificates': [{'certificate_chain': {'filename': '" + leaf[0] + "'}, 'private_key': {'filename': '" + leaf[1] + "'}}],"
                + "'validation_context': {'trusted_ca': {'filename': '" + ca + "'}, 'match_typed_subject_alt_names': [{'san_type': 'URI', 'matcher': {'exact': '" + expectUri + "'}}]}}}}");
    }

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki();
        app = new Backend("app");
        Path[] b = pki.leaf("b", SPIFFE_B);
        Path[] a = pki.leaf("a", SPIFFE_A);
        inbound = Proxy.start(bootstrap(
                listener("mtls", "", vhost(route("/", "app")), downstreamTls(b, pki.ca(), true)) + ","
                        + listener("public", "", vhost(route("/", "app")), downstreamTls(b, null, false)),
                cluster("app", "", app.port())));
        int mtlsPort = inbound.port("mtls");
        outbound = Proxy.start(bootstrap(listener("out", "", vhost(route("/wrong", "wrong-san"), route("/h2", "b2"), route("/", "b"))),
                cluster("b", upstreamTls(a, pki.ca(), SPIFFE_B), mtlsPort) + ","
                        + cluster("b2", upstreamTls(a, pki.ca(), SPIFFE_B) + "," + dev.trellis.sidecar.testing.Boot.HTTP2, mtlsPort) + ","
                        + cluster("wrong-san", upstreamTls(a, pki.ca(), "spiffe://test.local/ns/default/sa/other"), mtlsPort)));
    }

    @AfterAll
    static void stop() {
        outbound.close();
        inbound.close();
        app.close();
    }

    @Test
    void twoSidecarsTalkMutualTls() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(outbound.uri("out", "/hello")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("x-backend")).contains("app");
        assertThat(Backend.echoedHeaders(r.body())).containsEntry("x-forwarded-proto", "https");
    }

    @Test
    void mutualTlsUpstreamCanBeHttp2ByAlpn() throws Exception {
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(outbound.uri("out", "/h2/x")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-backend")).contains("app");
        }
        Host h = outbound.sidecar.clusterManager().get("b2").hosts().get(0);
        assertThat(h.connections().get()).as("one per event loop at most").isBetween(1, 2);
    }

    @Test
    void upstreamWithUnexpectedSanIsRefusedAsUF() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(outbound.uri("out", "/wrong")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("UF");
        assertThat(r.body()).contains("SANs do not match");
    }

    @Test
    void clientWithoutCertificateIsRefusedByTheMtlsListener() throws Exception {
        // A raw socket with a read timeout: the JDK HttpClient can wait forever when a TLS 1.3
        // server refuses the client after the client thinks the handshake is done.
        try (SSLSocket s = (SSLSocket) pki.clientContext().getSocketFactory().createSocket("localhost", inbound.port("mtls"))) {
            s.setSoTimeout(10_000);
            assertThatThrownBy(() -> {
                s.startHandshake();
                s.getOutputStream().write("GET / HTTP/1.1\r\nhost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                if (s.getInputStream().read() < 0) {
                    throw new EOFException("closed by the server");
                }
            }).as("refused, not answered and not left waiting")
                    .isInstanceOf(IOException.class).isNotInstanceOf(SocketTimeoutException.class);
        }
    }

    @Test
    void tlsListenerNegotiatesH2ByAlpn() throws Exception {
        HttpClient c = HttpClient.newBuilder().sslContext(pki.clientContext()).version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create("https://localhost:" + inbound.port("public") + "/x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
        HttpClient h1 = HttpClient.newBuilder().sslContext(pki.clientContext()).version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r1 = h1.send(HttpRequest.newBuilder(URI.create("https://localhost:" + inbound.port("public") + "/x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r1.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
        assertThat(r1.statusCode()).isEqualTo(200);
    }
}
