package dev.trellis.bench.scenario;

import dev.trellis.bench.load.Protocol;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * Envoy v3 bootstrap YAML for the Trellis sidecar in the {@code sidecar} and {@code mesh}
 * scenarios: one static listener with an {@code HttpConnectionManager} whose inline route sends
 * everything to one STATIC cluster, and an admin listener on its own port so two sidecars can run
 * side by side. Only standard Envoy fields are used, so the same file runs under Envoy.
 */
public final class SidecarBootstrap {
    private SidecarBootstrap() {}

    /** Which side of the mTLS hop a sidecar is on, if any. */
    public enum Tls { NONE, UPSTREAM_MTLS, DOWNSTREAM_MTLS }

    /**
     * @param tls {@code UPSTREAM_MTLS}: the cluster connects with mTLS (client sidecar);
     *            {@code DOWNSTREAM_MTLS}: the listener requires mTLS (server sidecar)
     */
    public static String yaml(String nodeId, Protocol protocol, InetSocketAddress listen, InetSocketAddress admin,
                              InetSocketAddress upstream, Tls tls, TestPki.Files pki) {
        return yaml(nodeId, protocol, listen, admin, upstream, tls, pki, null);
    }

    /** As above; with {@code accessLog} not null the listener writes its JSON access log there. */
    public static String yaml(String nodeId, Protocol protocol, InetSocketAddress listen, InetSocketAddress admin,
                              InetSocketAddress upstream, Tls tls, TestPki.Files pki, Path accessLog) {
        StringBuilder y = new StringBuilder();
        y.append("node:\n")
                .append("  id: ").append(nodeId).append('\n')
                .append("  cluster: bench\n")
                .append("admin:\n")
                .append("  address:\n")
                .append("    socket_address: { address: ").append(admin.getHostString())
                .append(", port_value: ").append(admin.getPort()).append(" }\n")
                .append("static_resources:\n")
                .append("  listeners:\n")
                .append("  - name: bench_in\n")
                .append("    address:\n")
                .append("      socket_address: { address: ").append(listen.getHostString())
                .append(", port_value: ").append(listen.getPort()).append(" }\n")
                .append("    filter_chains:\n")
                .append("    - filters:\n")
                .append("      - name: envoy.filters.network.http_connection_manager\n")
                .append("        typed_config:\n")
                .append("          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n")
                .append("          stat_prefix: bench_in\n")
                .append("          codec_type: AUTO\n")
                .append("          route_config:\n")
                .append("            name: bench\n")
                .append("            virtual_hosts:\n")
                .append("            - name: all\n")
                .append("              domains: [\"*\"]\n")
                .append("              routes:\n")
                .append("              - match: { prefix: \"/\" }\n")
                .append("                route: { cluster: upstream }\n")
                .append("          http_filters:\n")
                .append("          - name: envoy.filters.http.router\n")
                .append("            typed_config:\n")
                .append("              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n");
        if (accessLog != null) {
            y.append("          access_log:\n")
                    .append("          - name: envoy.access_loggers.file\n")
                    .append("            typed_config:\n")
                    .append("              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n")
                    .append("              path: ").append(accessLog).append('\n');
        }
        if (tls == Tls.DOWNSTREAM_MTLS) {
            y.append("      transport_socket:\n")
                    .append("        name: envoy.transport_sockets.tls\n")
                    .append("        typed_config:\n")
                    .append("          \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext\n")
                    .append("          require_client_certificate: true\n")
                    .append("          common_tls_context:\n")
                    .append("            alpn_protocols: [\"h2\", \"http/1.1\"]\n")
                    .append("            tls_certificates:\n")
                    .append("            - certificate_chain: { filename: ").append(pki.serverCert()).append(" }\n")
                    .append("              private_key: { filename: ").append(pki.serverKey()).append(" }\n")
                    .append("            validation_context:\n")
                    .append("              trusted_ca: { filename: ").append(pki.ca()).append(" }\n");
        }
        y.append("  clusters:\n")
                .append("  - name: upstream\n")
                .append("    type: STATIC\n")
                .append("    connect_timeout: 5s\n")
                .append("    lb_policy: ROUND_ROBIN\n");
        if (protocol.multiplexed()) {
            y.append("    typed_extension_protocol_options:\n")
                    .append("      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n")
                    .append("        \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n")
                    .append("        explicit_http_config:\n")
                    .append("          http2_protocol_options: {}\n");
        }
        if (tls == Tls.UPSTREAM_MTLS) {
            y.append("    transport_socket:\n")
                    .append("      name: envoy.transport_sockets.tls\n")
                    .append("      typed_config:\n")
                    .append("        \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n")
                    .append("        sni: localhost\n")
                    .append("        common_tls_context:\n")
                    .append("          alpn_protocols: [\"").append(protocol.multiplexed() ? "h2" : "http/1.1").append("\"]\n")
                    .append("          tls_certificates:\n")
                    .append("          - certificate_chain: { filename: ").append(pki.clientCert()).append(" }\n")
                    .append("            private_key: { filename: ").append(pki.clientKey()).append(" }\n")
                    .append("          validation_context:\n")
                    .append("            trusted_ca: { filename: ").append(pki.ca()).append(" }\n");
        }
        y.append("    load_assignment:\n")
                .append("      cluster_name: upstream\n")
                .append("      endpoints:\n")
                .append("      - lb_endpoints:\n")
                .append("        - endpoint:\n")
                .append("            address:\n")
                .append("              socket_address: { address: ").append(upstream.getHostString())
                .append(", port_value: ").append(upstream.getPort()).append(" }\n");
        return y.toString();
    }
}
