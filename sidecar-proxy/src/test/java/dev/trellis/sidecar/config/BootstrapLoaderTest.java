package dev.trellis.sidecar.config;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BootstrapLoaderTest {
    private static SidecarConfig parse(String text) {
        return BootstrapTranslator.translate(BootstrapLoader.parse(text, false));
    }

    private static String simple(String hcmExtra, String clusterExtra) {
        return bootstrap(listener("in", hcmExtra, vhost(route("/", "app"))), cluster("app", clusterExtra, 8080));
    }

    @Test
    void exampleFileLoadsWithEnvoyDefaults() {
        SidecarConfig c = BootstrapLoader.load(Path.of("examples/bootstrap.yaml"));
        assertThat(c.node().id()).isEqualTo("example-sidecar");
        assertThat(c.admin()).map(SocketAddr::port).contains(15000);
        ListenerConfig l = c.listeners().get(0);
        assertThat(l.address().port()).isEqualTo(15001);
        assertThat(l.http().maxHeadersCount()).isEqualTo(100);
        assertThat(l.http().maxRequestHeadersBytes()).isEqualTo(60 * 1024);
        assertThat(l.http().maxConcurrentStreams()).isEqualTo(100);
        assertThat(l.http().streamIdleTimeout()).contains(Duration.ofMinutes(5));
        assertThat(l.http().generateRequestId()).isTrue();
        assertThat(c.clusters().get("app").connectTimeout()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void absentFieldsTakeEnvoyDefaults() {
        String b = bootstrap(listener("in", "", vhost(route("/", "app"))),
                j("{'name': 'app', 'load_assignment': {'cluster_name': 'app', 'endpoints': [{'lb_endpoints': [{'endpoint': {'address': {'socket_address': {'address': '127.0.0.1', 'port_value': 1}}}}]}]}}"));
        SidecarConfig c = parse(b);
        ClusterConfig app = c.clusters().get("app");
        assertThat(app.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(app.lbPolicy()).isEqualTo("ROUND_ROBIN");
        assertThat(app.type()).isEqualTo(ClusterConfig.DiscoveryType.STATIC);
        assertThat(app.protocol()).isEqualTo(ClusterConfig.UpstreamProtocol.HTTP1);
        RouteTable.Forward fw = (RouteTable.Forward) c.listeners().get(0).http().routes().virtualHosts().get(0).routes().get(0).action();
        assertThat(fw.timeout()).isEqualTo(Duration.ofSeconds(15));
    }

    @Test
    void jsonWorksToo() {
        SidecarConfig c = BootstrapTranslator.translate(BootstrapLoader.parse(simple("", ""), true));
        assertThat(c.clusters()).containsKey("app");
    }

    @Test
    void unsupportedFieldIsRefusedWithItsPath() {
        String b = simple("", j("'upstream_connection_options': {'tcp_keepalive': {}}"));
        assertThatThrownBy(() -> parse(b)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("static_resources.clusters[0].upstream_connection_options: not supported");
        String hc = simple("", j("'health_checks': [{'timeout': '1s', 'interval': '1s', 'unhealthy_threshold': 1, "
                + "'healthy_threshold': 1, 'tcp_health_check': {'send': {'text': '00'}}}]"));
        assertThatThrownBy(() -> parse(hc)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("static_resources.clusters[0] (cluster 'app').health_checks[0].tcp_health_check.send: not supported");
    }

    @Test
    void severalHealthChecksEachKeepTheirOwnSettings() {
        String hc = simple("", j("'health_checks': ["
                + "{'timeout': '1s', 'interval': '2s', 'unhealthy_threshold': 3, 'healthy_threshold': 2, 'http_health_check': {'path': '/healthz'}},"
                + "{'timeout': '0.5s', 'interval': '5s', 'unhealthy_threshold': 1, 'healthy_threshold': 1, 'tcp_health_check': {}},"
                + "{'timeout': '1s', 'interval': '1s', 'unhealthy_threshold': 2, 'healthy_threshold': 1, 'grpc_health_check': {'service_name': 'svc'}}]"));
        var checks = parse(hc).clusters().get("app").healthChecks();
        assertThat(checks).extracting(HealthCheckConfig::kind).containsExactly(
                HealthCheckConfig.Kind.HTTP, HealthCheckConfig.Kind.TCP, HealthCheckConfig.Kind.GRPC);
        assertThat(checks).extracting(HealthCheckConfig::interval).containsExactly(
                Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(1));
        assertThat(checks.get(0).unhealthyThreshold()).isEqualTo(3);
        assertThat(checks.get(2).grpcServiceName()).isEqualTo("svc");
        String bad = simple("", j("'health_checks': [{'timeout': '1s', 'interval': '1s', 'unhealthy_threshold': 1, "
                + "'healthy_threshold': 1, 'tcp_health_check': {}}, {'timeout': '1s', 'interval': '1s', 'tcp_health_check': {}}]"));
        assertThatThrownBy(() -> parse(bad)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("(cluster 'app').health_checks[1]: timeout, interval, unhealthy_threshold and healthy_threshold are required");
    }

    @Test
    void unknownFieldIsRefusedWithItsPath() {
        String b = simple("'no_such_field': 1", "");
        assertThatThrownBy(() -> parse(b)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("static_resources.listeners[0].filter_chains[0].filters[0].typed_config.no_such_field: unknown field");
    }

    @Test
    void unknownTypedConfigIsRefusedWithItsPath() {
        String lua = j("{'name': 'envoy.filters.http.lua', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua', 'inline_code': 'x'}}");
        String b = simple("", "").replace(j("'http_filters': ["), j("'http_filters': [") + lua + ",");
        assertThatThrownBy(() -> parse(b)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("http_filters[0].typed_config: unknown typed_config type 'envoy.extensions.filters.http.lua.v3.Lua'");
    }

    @Test
    void badValuesNameTheFieldAndWhatWasExpected() {
        assertThatThrownBy(() -> parse(simple("", "'lb_policy': 'MAGLEV'")))
                .hasMessageContaining("static_resources.clusters[0] (cluster 'app').lb_policy: MAGLEV (expected: ROUND_ROBIN");
        assertThatThrownBy(() -> parse(simple("", "'connect_timeout': '0s'").replace(j("'connect_timeout': '1s',"), "")))
                .hasMessageContaining("connect_timeout: 0ms (expected: > 0)");
        String missing = bootstrap(listener("in", "", vhost(route("/", "nope"))), cluster("app", "", 1));
        assertThatThrownBy(() -> parse(missing)).hasMessageContaining("cluster 'nope' is not defined");
        String badDomain = bootstrap(listener("in", "", j("{'name': 'v', 'domains': ['a*b'], 'routes': []}")), cluster("app", "", 1));
        assertThatThrownBy(() -> parse(badDomain)).hasMessageContaining("domains[0]: 'a*b' (expected: an exact host, *.suffix, prefix* or *)");
        String staticName = bootstrap(listener("in", "", vhost(route("/", "app"))), cluster("app", "", 1).replace("127.0.0.1", "app.local"));
        assertThatThrownBy(() -> parse(staticName)).hasMessageContaining("endpoint address 'app.local' (expected: an IP address in a STATIC cluster");
        assertThatThrownBy(() -> parse("[1, 2]")).hasMessageContaining("expected a Bootstrap object");
        assertThatThrownBy(() -> parse("{a: [")).hasMessageContaining("not valid YAML");
    }

    @Test
    void dynamicResourcesAreRefusedUntilXds() {
        String b = simple("", "").replaceFirst("\\{", j("{'dynamic_resources': {'ads_config': {'api_type': 'GRPC'}},"));
        assertThatThrownBy(() -> parse(b)).hasMessageContaining("dynamic_resources: not supported");
    }

    @Test
    void routesTranslateEveryMatchAndAction() {
        String routes = j("{'name': 'v', 'domains': ['api.example.com', '*.example.com', 'www.*'],"
                + "'request_headers_to_add': [{'header': {'key': 'x-vh', 'value': '1'}}],"
                + "'routes': ["
                + "{'match': {'path': '/exact', 'headers': [{'name': 'x-a', 'string_match': {'prefix': 'b'}}], 'query_parameters': [{'name': 'q', 'present_match': true}]}, 'route': {'cluster': 'app', 'prefix_rewrite': '/p', 'timeout': '2s', 'host_rewrite_literal': 'h'}},"
                + "{'match': {'safe_regex': {'regex': '/r/[0-9]+'}}, 'route': {'weighted_clusters': {'clusters': [{'name': 'app', 'weight': 3}, {'name': 'app', 'weight': 1}]}, 'regex_rewrite': {'pattern': {'regex': '^/r/(.*)$'}, 'substitution': '/s/\\\\1'}}},"
                + "{'match': {'prefix': '/d'}, 'direct_response': {'status': 418, 'body': {'inline_string': 'tea'}}},"
                + "{'match': {'prefix': '/'}, 'redirect': {'https_redirect': true, 'response_code': 'PERMANENT_REDIRECT'}}]}");
        SidecarConfig c = parse(bootstrap(listener("in", "", routes), cluster("app", "", 1)));
        RouteTable.VirtualHost vh = c.listeners().get(0).http().routes().virtualHosts().get(0);
        assertThat(vh.domains()).containsExactly("api.example.com", "*.example.com", "www.*");
        assertThat(vh.requestHeaders().add()).hasSize(1);
        RouteTable.Forward f0 = (RouteTable.Forward) vh.routes().get(0).action();
        assertThat(f0.prefixRewrite()).contains("/p");
        assertThat(f0.timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(f0.hostRewriteLiteral()).contains("h");
        assertThat(vh.routes().get(0).match().headers().get(0).value().matches("bee")).isTrue();
        RouteTable.Forward f1 = (RouteTable.Forward) vh.routes().get(1).action();
        assertThat(f1.clusters()).extracting(RouteTable.WeightedCluster::weight).containsExactly(3, 1);
        assertThat(f1.regexRewrite().get().matcher("/r/12").replaceAll(f1.regexSubstitution())).isEqualTo("/s/12");
        assertThat(vh.routes().get(2).action()).isEqualTo(new RouteTable.DirectResponse(418, java.util.Optional.of("tea")));
        RouteTable.Redirect r = (RouteTable.Redirect) vh.routes().get(3).action();
        assertThat(r.scheme()).contains("https");
        assertThat(r.status()).isEqualTo(308);
    }

    @Test
    void upstreamHttp2AndDnsClustersTranslate() {
        String c = j("{'name': 'dns', 'type': 'STRICT_DNS', 'dns_refresh_rate': '2s', 'per_connection_buffer_limit_bytes': 65536, "
                + dev.trellis.sidecar.testing.Boot.HTTP2 + ","
                + "'load_assignment': {'cluster_name': 'dns', 'endpoints': ["
                + "{'priority': 0, 'lb_endpoints': [{'endpoint': {'address': {'socket_address': {'address': 'localhost', 'port_value': 80}}}, 'load_balancing_weight': 5}]},"
                + "{'priority': 1, 'lb_endpoints': [{'endpoint': {'address': {'socket_address': {'address': 'localhost', 'port_value': 81}}}, 'health_status': 'UNHEALTHY'}]}]}}");
        SidecarConfig cfg = parse(bootstrap(listener("in", "", vhost(route("/", "dns"))), c));
        ClusterConfig d = cfg.clusters().get("dns");
        assertThat(d.type()).isEqualTo(ClusterConfig.DiscoveryType.STRICT_DNS);
        assertThat(d.protocol()).isEqualTo(ClusterConfig.UpstreamProtocol.HTTP2);
        assertThat(d.perConnectionBufferLimitBytes()).isEqualTo(65536);
        assertThat(d.endpoints()).extracting(ClusterConfig.EndpointConfig::weight).containsExactly(5, 1);
        assertThat(d.endpoints()).extracting(ClusterConfig.EndpointConfig::priority).containsExactly(0, 1);
        assertThat(d.endpoints().get(1).health()).isEqualTo(ClusterConfig.Health.UNHEALTHY);
    }

    @Test
    void hcmLimitsAndTimeoutsTranslate() {
        String extra = j("'codec_type': 'HTTP1', 'max_request_headers_kb': 8, 'common_http_protocol_options': {'idle_timeout': '30s', 'max_headers_count': 20},"
                + "'stream_idle_timeout': '0s', 'request_headers_timeout': '2s', 'generate_request_id': false, 'http2_protocol_options': {'max_concurrent_streams': 7}");
        HttpConnectionManagerConfig h = parse(simple(extra, "")).listeners().get(0).http();
        assertThat(h.codecType()).isEqualTo(HttpConnectionManagerConfig.CodecType.HTTP1);
        assertThat(h.maxRequestHeadersBytes()).isEqualTo(8192);
        assertThat(h.maxHeadersCount()).isEqualTo(20);
        assertThat(h.idleTimeout()).contains(Duration.ofSeconds(30));
        assertThat(h.streamIdleTimeout()).isEmpty();
        assertThat(h.requestHeadersTimeout()).contains(Duration.ofSeconds(2));
        assertThat(h.generateRequestId()).isFalse();
        assertThat(h.maxConcurrentStreams()).isEqualTo(7);
    }

    @Test
    void useDownstreamProtocolConfigKeepsEachRequestsProtocol() {
        String opts = j("'typed_extension_protocol_options': {'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': "
                + "{'@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', "
                + "'use_downstream_protocol_config': {'http_protocol_options': {}, 'http2_protocol_options': {}}}}");
        ClusterConfig app = parse(simple("", opts)).clusters().get("app");
        assertThat(app.protocol()).isEqualTo(ClusterConfig.UpstreamProtocol.DOWNSTREAM);
        assertThat(app.protocol().http2For(true)).isTrue();
        assertThat(app.protocol().http2For(false)).isFalse();
        assertThat(ClusterConfig.UpstreamProtocol.HTTP2.http2For(false)).isTrue();

        String unsupported = opts.replace(j("'http2_protocol_options': {}"), j("'http2_protocol_options': {'max_concurrent_streams': 7}"));
        assertThat(unsupported).isNotEqualTo(opts);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> parse(simple("", unsupported)))
                .hasMessageContaining("use_downstream_protocol_config.http2_protocol_options");
    }
}
