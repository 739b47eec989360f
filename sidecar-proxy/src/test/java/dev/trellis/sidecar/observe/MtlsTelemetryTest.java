package dev.trellis.sidecar.observe;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.MeshPki;
import dev.trellis.sidecar.testing.Proxy;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Sidecar a calls sidecar b over mTLS with mesh SVIDs: b reports as destination with a's service
 * as the source (from a's SPIFFE ID) and logs the identity; both export their certificates' expiry.
 */
class MtlsTelemetryTest {
    static final HttpClient client = HttpClient.newHttpClient();

    @Test
    void theCallersIdentityReachesMetricsAndTheAccessLog() throws Exception {
        MeshPki pki = new MeshPki();
        Path[] serverB = pki.serverSvid("b");
        Path[] clientA = pki.svid("a");
        Path log = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "mtls").resolve("b.log");
        String tls = j("{'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',"
                + "'require_client_certificate': true, 'common_tls_context': {'alpn_protocols': ['h2', 'http/1.1'],"
                + "'tls_certificates': [{'certificate_chain': {'filename': '" + serverB[0] + "'}, 'private_key': {'filename': '" + serverB[1] + "'}}],"
                + "'validation_context': {'trusted_ca': {'filename': '" + pki.bundle() + "'}}}}}");
        try (Backend app = new Backend("app");
             Proxy b = Proxy.start(bootstrap(listener("in", AccessLogTest.accessLog(log), vhost(route("/", "app")), tls)
                     .replaceFirst("\\{", "{\"traffic_direction\": \"INBOUND\","), cluster("app", "", app.port())))) {
            String upstreamTls = j("'transport_socket': {'name': 'envoy.transport_sockets.tls', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',"
                    + "'sni': 'localhost', 'common_tls_context': {'tls_certificates': [{'certificate_chain': {'filename': '" + clientA[0] + "'}, 'private_key': {'filename': '" + clientA[1] + "'}}],"
                    + "'validation_context': {'trusted_ca': {'filename': '" + pki.bundle() + "'}, 'match_typed_subject_alt_names': [{'san_type': 'URI', 'matcher': {'exact': '" + MeshPki.spiffe("b") + "'}}]}}}}");
            try (Proxy a = Proxy.start(bootstrap(listener("out", "", vhost(route("/", "b"))),
                    cluster("b", upstreamTls, b.port("in"))))) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(a.uri("out", "/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);

                String destination = Exposition.series("trellis_requests_total", "destination", "a", "app", 200, "-", "-", "http");
                Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                        assertThat(Exposition.parse(b.sidecar.metrics().scrape())).containsEntry(destination, 1.0));
                String source = Exposition.series("trellis_requests_total", "source", "test", "b", 200, "-", "-", "http");
                Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                        assertThat(Exposition.parse(a.sidecar.metrics().scrape())).containsEntry(source, 1.0));

                List<JsonNode> lines = AccessLogTest.lines(log, 1);
                assertThat(lines.get(0).get("source_identity").asText()).isEqualTo(MeshPki.spiffe("a"));
                assertThat(lines.get(0).get("protocol").asText()).isEqualTo("HTTP/1.1");
                assertThat(lines.get(0).get("destination_service").asText()).isEqualTo("app");

                Map<String, Double> bm = Exposition.parse(b.sidecar.metrics().scrape());
                Map<String, Double> am = Exposition.parse(a.sidecar.metrics().scrape());
                assertThat(bm.get("trellis_certificate_expiry_seconds{owner=\"listener/in\"}"))
                        .isCloseTo(secondsLeft(serverB[0]), Offset.offset(60.0));
                assertThat(am.get("trellis_certificate_expiry_seconds{owner=\"cluster/b\"}"))
                        .isCloseTo(secondsLeft(clientA[0]), Offset.offset(60.0));
            }
        }
    }

    static double secondsLeft(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            return Duration.between(Instant.now(), c.getNotAfter().toInstant()).toSeconds();
        }
    }
}
