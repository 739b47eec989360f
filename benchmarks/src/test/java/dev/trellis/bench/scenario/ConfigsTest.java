package dev.trellis.bench.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.trellis.bench.load.Protocol;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The generated HAProxy, nginx and Envoy-bootstrap configurations. */
class ConfigsTest {
    private static final InetSocketAddress LISTEN = new InetSocketAddress("127.0.0.1", 20001);
    private static final InetSocketAddress BACKEND = new InetSocketAddress("127.0.0.1", 20002);
    private static final TestPki.Files PKI = new TestPki.Files(Path.of("/p/ca.pem"), Path.of("/p/server.pem"),
            Path.of("/p/server-key.pem"), Path.of("/p/server-bundle.pem"), Path.of("/p/client.pem"),
            Path.of("/p/client-key.pem"), Path.of("/p/client-bundle.pem"));

    @Test
    void haproxyOneHopHttp1() {
        String cfg = HaproxyConfig.oneHop(Protocol.HTTP1, LISTEN, BACKEND, 2);
        assertThat(cfg).contains("    nbthread 2\n", "    mode http\n", "    bind 127.0.0.1:20001\n",
                "    server echo1 127.0.0.1:20002\n", "http-reuse always");
        assertThat(cfg).doesNotContain("proto h2", "ssl");
    }

    @Test
    void haproxyOneHopSpeaksHttp2BothWaysForH2cAndGrpc() {
        for (Protocol p : new Protocol[] {Protocol.H2C, Protocol.GRPC}) {
            String cfg = HaproxyConfig.oneHop(p, LISTEN, BACKEND, 1);
            assertThat(cfg).contains("    bind 127.0.0.1:20001 proto h2\n", "    server echo1 127.0.0.1:20002 proto h2\n");
        }
    }

    @Test
    void haproxyMtlsPairChecksCertificatesBothWays() {
        String client = HaproxyConfig.mtlsClientSide(Protocol.HTTP1, LISTEN, BACKEND, PKI, 1);
        assertThat(client).contains("    bind 127.0.0.1:20001\n")
                .contains("server peer1 127.0.0.1:20002 ssl crt /p/client-bundle.pem ca-file /p/ca.pem verify required "
                        + "sni str(localhost) ssl-min-ver TLSv1.3 alpn http/1.1\n");
        String server = HaproxyConfig.mtlsServerSide(Protocol.GRPC, LISTEN, BACKEND, PKI, 1);
        assertThat(server).contains("bind 127.0.0.1:20001 ssl crt /p/server-bundle.pem ca-file /p/ca.pem verify required "
                + "ssl-min-ver TLSv1.3 alpn h2,http/1.1\n")
                .contains("server echo1 127.0.0.1:20002 proto h2\n");
        assertThat(HaproxyConfig.mtlsClientSide(Protocol.H2C, LISTEN, BACKEND, PKI, 1)).contains("alpn h2 proto h2\n");
    }

    @Test
    void nginxProxiesHttpAndGrpc() {
        Path prefix = Path.of("/tmp/x/nginx");
        String h1 = NginxConfig.oneHop(Protocol.HTTP1, LISTEN, BACKEND, 1, prefix);
        assertThat(h1).contains("daemon off;", "worker_processes 1;", "pid /tmp/x/nginx/nginx.pid;", "access_log off;",
                "listen 127.0.0.1:20001;", "server 127.0.0.1:20002;", "keepalive 128;", "proxy_pass http://echo;",
                "proxy_http_version 1.1;", "proxy_set_header Connection \"\";", "keepalive_requests 10000000;");
        assertThat(NginxConfig.oneHop(Protocol.H2C, LISTEN, BACKEND, 1, prefix))
                .contains("listen 127.0.0.1:20001 http2;", "proxy_pass http://echo;");
        assertThat(NginxConfig.oneHop(Protocol.GRPC, LISTEN, BACKEND, 1, prefix))
                .contains("listen 127.0.0.1:20001 http2;", "grpc_pass grpc://echo;").doesNotContain("proxy_pass");
    }

    @Test
    void sidecarBootstrapIsAStaticEnvoyV3Config() throws Exception {
        InetSocketAddress admin = new InetSocketAddress("127.0.0.1", 20003);
        String yaml = SidecarBootstrap.yaml("bench-sidecar", Protocol.HTTP1, LISTEN, admin, BACKEND,
                SidecarBootstrap.Tls.NONE, null);
        JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(yaml);

        assertThat(root.at("/node/id").asText()).isEqualTo("bench-sidecar");
        assertThat(root.at("/admin/address/socket_address/port_value").asInt()).isEqualTo(20003);
        JsonNode listener = root.at("/static_resources/listeners/0");
        assertThat(listener.at("/address/socket_address/port_value").asInt()).isEqualTo(20001);
        JsonNode hcm = listener.at("/filter_chains/0/filters/0/typed_config");
        assertThat(hcm.get("@type").asText())
                .isEqualTo("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
        assertThat(hcm.at("/route_config/virtual_hosts/0/routes/0/route/cluster").asText()).isEqualTo("upstream");
        assertThat(hcm.at("/http_filters/0/name").asText()).isEqualTo("envoy.filters.http.router");
        JsonNode cluster = root.at("/static_resources/clusters/0");
        assertThat(cluster.get("type").asText()).isEqualTo("STATIC");
        assertThat(cluster.at("/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address/port_value").asInt())
                .isEqualTo(20002);
        assertThat(cluster.has("transport_socket")).isFalse();
        assertThat(cluster.has("typed_extension_protocol_options")).isFalse();
        assertThat(listener.at("/filter_chains/0").has("transport_socket")).isFalse();
        assertThat(hcm.has("access_log")).isFalse();
    }

    @Test
    void withAccessLogTheSidecarWritesItToTheFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path log = dir.resolve("sidecar-access.jsonl");
        String yaml = SidecarBootstrap.yaml("bench-sidecar", Protocol.HTTP1, LISTEN, new InetSocketAddress("127.0.0.1", 20003),
                BACKEND, SidecarBootstrap.Tls.NONE, null, log);
        java.nio.file.Path file = dir.resolve("sidecar.yaml");
        try {
            java.nio.file.Files.writeString(file, yaml);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        // the sidecar's own loader reads it, with one file access log on the listener
        var config = dev.trellis.sidecar.config.envoy.BootstrapLoader.load(file);
        assertThat(config.listeners().get(0).telemetry().accessLogs()).hasSize(1);
        assertThat(config.listeners().get(0).telemetry().accessLogs().get(0).describe()).contains(log.toString());
    }

    @Test
    void meshBootstrapsCarryTheMtlsContexts() throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        InetSocketAddress admin = new InetSocketAddress("127.0.0.1", 20003);
        JsonNode server = yaml.readTree(SidecarBootstrap.yaml("s", Protocol.GRPC, LISTEN, admin, BACKEND,
                SidecarBootstrap.Tls.DOWNSTREAM_MTLS, PKI));
        JsonNode down = server.at("/static_resources/listeners/0/filter_chains/0/transport_socket/typed_config");
        assertThat(down.get("@type").asText()).endsWith("tls.v3.DownstreamTlsContext");
        assertThat(down.get("require_client_certificate").asBoolean()).isTrue();
        assertThat(down.at("/common_tls_context/tls_certificates/0/certificate_chain/filename").asText()).isEqualTo("/p/server.pem");
        assertThat(down.at("/common_tls_context/tls_certificates/0/private_key/filename").asText()).isEqualTo("/p/server-key.pem");
        assertThat(down.at("/common_tls_context/validation_context/trusted_ca/filename").asText()).isEqualTo("/p/ca.pem");
        assertThat(server.at("/static_resources/clusters/0/typed_extension_protocol_options")
                .elements().next().at("/explicit_http_config").has("http2_protocol_options")).isTrue();

        JsonNode client = yaml.readTree(SidecarBootstrap.yaml("c", Protocol.HTTP1, LISTEN, admin, BACKEND,
                SidecarBootstrap.Tls.UPSTREAM_MTLS, PKI));
        JsonNode up = client.at("/static_resources/clusters/0/transport_socket/typed_config");
        assertThat(up.get("@type").asText()).endsWith("tls.v3.UpstreamTlsContext");
        assertThat(up.get("sni").asText()).isEqualTo("localhost");
        assertThat(up.at("/common_tls_context/alpn_protocols/0").asText()).isEqualTo("http/1.1");
        assertThat(up.at("/common_tls_context/tls_certificates/0/certificate_chain/filename").asText()).isEqualTo("/p/client.pem");
    }
}
