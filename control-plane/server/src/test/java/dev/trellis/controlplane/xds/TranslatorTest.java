package dev.trellis.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.PolicyParser;
import dev.trellis.controlplane.policy.PolicyValidator;
import dev.trellis.controlplane.registry.ServiceInstance;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TranslatorTest {
    private static final String POLICY = """
            kind: Service
            name: users
            spec:
              protocol: grpc
              loadBalancer: least_request
              timeout: 3s
              outlierDetection: {consecutive5xx: 3}
              healthCheck: {path: /ready}
            ---
            kind: Route
            name: users-canary
            spec:
              service: users
              rules:
                - match: {pathPrefix: /api, headers: {x-canary: "1"}, method: GET}
                  destinations: [{subset: {version: v2}, weight: 10}, {subset: {version: v1}, weight: 90}]
                  timeout: 1s
                  retries: {attempts: 1, retryOn: [5xx, unavailable]}
                  requestHeaders: {set: {x-route: canary}, remove: [x-debug]}
                  fault: {abort: {status: 503, percent: 2.5}}
            ---
            kind: ExternalService
            name: payments
            spec: {endpoints: ["api.pay.example:443"], tls: {sni: api.pay.example}}
            """;

    private static MeshPolicy policy() throws Exception {
        return PolicyValidator.validate(PolicyParser.parse(POLICY, "test", "api"), 1);
    }

    private static ServiceInstance users(String id, String version, boolean healthy) {
        return new ServiceInstance("users", id, "sidecar~users~" + id, "10.0.0." + id.charAt(1), 15006, 8080, "grpc",
                Map.of("version", version, "zone", "z1"), List.of(),
                healthy ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY, "", Instant.EPOCH, true);
    }

    private static final Map<String, List<ServiceInstance>> REGISTRY = Map.of("users",
            List.of(users("u1", "v1", true), users("u2", "v2", true), users("u3", "v2", false)));

    private static ProxyNode node(String id, String upstreams) {
        Node.Builder n = Node.newBuilder().setId(id);
        if (upstreams != null) {
            n.setMetadata(Struct.newBuilder().putFields("TRELLIS_UPSTREAMS", Value.newBuilder().setStringValue(upstreams).build()));
        }
        return ProxyNode.of(n.build());
    }

    @Test
    void sidecarGetsRulesSubsetsFaultsAndExternalServices() throws Exception {
        XdsResources r = Translator.translate(node("sidecar~web~w1", null), null, policy(), REGISTRY);
        assertThat(r.clusters().keySet()).containsExactlyInAnyOrder(
                "outbound|users", "outbound|users|version=v1", "outbound|users|version=v2", "outbound|payments");
        assertThat(r.endpoints().keySet()).containsExactlyInAnyOrder(
                "outbound|users", "outbound|users|version=v1", "outbound|users|version=v2");
        assertThat(r.endpoints().get("outbound|users|version=v2").getEndpoints(0).getLbEndpointsList())
                .as("u3 is unhealthy").hasSize(1);
        assertThat(r.endpoints().get("outbound|users").getEndpoints(0).getLocality().getZone()).isEqualTo("z1");

        Cluster users = r.clusters().get("outbound|users");
        assertThat(users.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
        assertThat(users.getOutlierDetection().getConsecutive5Xx().getValue()).isEqualTo(3);
        assertThat(users.getHealthChecks(0).getHttpHealthCheck().getPath()).isEqualTo("/ready");
        assertThat(users.getTypedExtensionProtocolOptionsMap()).containsKey("envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
        assertThat(users.getCircuitBreakers().getThresholds(0).getRetryBudget().getBudgetPercent().getValue()).isEqualTo(20.0);

        Cluster payments = r.clusters().get("outbound|payments");
        assertThat(payments.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
        assertThat(payments.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class).getSni())
                .isEqualTo("api.pay.example");

        VirtualHost vh = r.routes().get("outbound").getVirtualHostsList().stream()
                .filter(v -> v.getName().equals("users")).findFirst().orElseThrow();
        assertThat(vh.getRoutesCount()).isEqualTo(2);
        Route canary = vh.getRoutes(0);
        assertThat(canary.getMatch().getPrefix()).isEqualTo("/api");
        assertThat(canary.getMatch().getHeadersList()).extracting(h -> h.getName()).containsExactly("x-canary", ":method");
        assertThat(canary.getRoute().getWeightedClusters().getClustersList())
                .extracting(c -> c.getName() + "=" + c.getWeight().getValue())
                .containsExactly("outbound|users|version=v2=10", "outbound|users|version=v1=90");
        assertThat(canary.getRoute().getTimeout().getSeconds()).isEqualTo(1);
        assertThat(canary.getRoute().getRetryPolicy().getRetryOn()).isEqualTo("5xx,unavailable");
        assertThat(canary.getRequestHeadersToAdd(0).getHeader().getKey()).isEqualTo("x-route");
        assertThat(canary.getRequestHeadersToRemoveList()).containsExactly("x-debug");
        HTTPFault fault = canary.getTypedPerFilterConfigOrThrow("envoy.filters.http.fault").unpack(HTTPFault.class);
        assertThat(fault.getAbort().getHttpStatus()).isEqualTo(503);
        assertThat(fault.getAbort().getPercentage().getNumerator()).isEqualTo(25_000);
        assertThat(vh.getRoutes(1).getRoute().getCluster()).isEqualTo("outbound|users");
        assertThat(vh.getRoutes(1).getRoute().getTimeout().getSeconds()).isEqualTo(3);

        HttpConnectionManager hcm = r.listeners().get("outbound").getFilterChains(0).getFilters(0).getTypedConfig()
                .unpack(HttpConnectionManager.class);
        assertThat(hcm.getHttpFiltersList()).extracting(f -> f.getName())
                .containsExactly("envoy.filters.http.fault", "envoy.filters.http.router");
    }

    @Test
    void declaredUpstreamsScopeTheResources() throws Exception {
        XdsResources r = Translator.translate(node("sidecar~web~w1", "payments"), null, policy(), REGISTRY);
        assertThat(r.clusters().keySet()).containsExactly("outbound|payments");
        assertThat(r.endpoints()).isEmpty();
        XdsResources none = Translator.translate(node("sidecar~web~w1", "nobody"), null, MeshPolicy.EMPTY, Map.of());
        assertThat(none.clusters().keySet()).as("a declared upstream not known yet still gets its cluster")
                .containsExactly("outbound|nobody");
    }

    @Test
    void proxylessClientsGetApiListenersAndGrpcRetryCodesOnly() throws Exception {
        XdsResources r = Translator.translate(node("grpc-client", null), null, policy(), REGISTRY);
        assertThat(r.listeners().keySet()).containsExactly("users");
        assertThat(r.listeners().get("users").hasApiListener()).isTrue();
        assertThat(r.routes().keySet()).containsExactly("users");
        Route canary = r.routes().get("users").getVirtualHosts(0).getRoutes(0);
        assertThat(canary.getRoute().getRetryPolicy().getRetryOn()).isEqualTo("unavailable");
        assertThat(canary.getRoute().getMaxStreamDuration().getMaxStreamDuration().getSeconds()).isEqualTo(1);
        assertThat(canary.getTypedPerFilterConfigMap()).isEmpty();
        assertThat(r.clusters().get("outbound|users").getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
        assertThat(r.clusters()).doesNotContainKey("outbound|payments");
    }

    @Test
    void sameInputsGiveEqualResources() throws Exception {
        assertThat(Translator.translate(node("sidecar~web~w1", null), null, policy(), REGISTRY))
                .isEqualTo(Translator.translate(node("sidecar~web~w1", null), null, policy(), REGISTRY));
    }

    @Test
    void accessPolicyBecomesDenyThenAllowRbacOnTheInboundListener() throws Exception {
        MeshPolicy p = PolicyValidator.validate(PolicyParser.parse("""
                kind: MeshConfig
                name: mesh
                spec: {trustDomain: example.org}
                ---
                kind: AccessPolicy
                name: users
                spec:
                  default: deny
                  rules:
                    - {action: deny, from: [web], paths: [/admin*]}
                    - {action: allow, from: [web, gateway], methods: [GET, POST]}
                """, "test", "api"), 1);
        ServiceInstance self = users("u1", "v1", true);
        XdsResources r = Translator.translate(node("sidecar~users~u1", null), self, p, REGISTRY);
        HttpConnectionManager hcm = r.listeners().get("inbound").getFilterChains(0).getFilters(0).getTypedConfig()
                .unpack(HttpConnectionManager.class);
        assertThat(hcm.getHttpFiltersList()).extracting(f -> f.getName())
                .containsExactly("envoy.filters.http.rbac", "envoy.filters.http.rbac", "envoy.filters.http.router");
        var deny = hcm.getHttpFilters(0).getTypedConfig()
                .unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules();
        var allow = hcm.getHttpFilters(1).getTypedConfig()
                .unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules();
        assertThat(deny.getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY);
        assertThat(deny.getPoliciesOrThrow("deny-0").getPrincipals(0).getOrIds().getIds(0).getAuthenticated()
                .getPrincipalName().getExact()).isEqualTo("spiffe://example.org/ns/default/sa/web");
        assertThat(deny.getPoliciesOrThrow("deny-0").getPermissions(0).getAndRules().getRules(0).getOrRules()
                .getRules(0).getUrlPath().getPath().getPrefix()).isEqualTo("/admin");
        assertThat(allow.getAction()).isEqualTo(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW);
        assertThat(allow.getPoliciesOrThrow("allow-1").getPrincipals(0).getOrIds().getIdsCount()).isEqualTo(2);

        XdsResources open = Translator.translate(node("sidecar~users~u1", null), self, MeshPolicy.EMPTY, REGISTRY);
        assertThat(open.listeners().get("inbound").getFilterChains(0).getFilters(0).getTypedConfig()
                .unpack(HttpConnectionManager.class).getHttpFiltersCount()).isEqualTo(1);
    }

    @Test
    void meshConfigTelemetryBecomesAccessLogAndTracingOnBothListeners() throws Exception {
        MeshPolicy p = PolicyValidator.validate(PolicyParser.parse("""
                kind: MeshConfig
                name: mesh
                spec:
                  accessLog: /var/log/trellis/access.log
                  tracing: {collector: "otel:4317", sampling: 12.5}
                """, "test", "api"), 1);
        ServiceInstance self = users("u1", "v1", true);
        XdsResources r = Translator.translate(node("sidecar~users~u1", null), self, p, REGISTRY);
        for (String name : List.of("inbound", "outbound")) {
            HttpConnectionManager hcm = r.listeners().get(name).getFilterChains(0).getFilters(0).getTypedConfig()
                    .unpack(HttpConnectionManager.class);
            assertThat(hcm.getAccessLog(0).getName()).isEqualTo("envoy.access_loggers.file");
            assertThat(hcm.getAccessLog(0).getTypedConfig().unpack(
                    io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.class).getPath())
                    .isEqualTo("/var/log/trellis/access.log");
            assertThat(hcm.getTracing().getRandomSampling().getValue()).isEqualTo(12.5);
            assertThat(hcm.getTracing().getProvider().getName()).isEqualTo("envoy.tracers.opentelemetry");
            var otel = hcm.getTracing().getProvider().getTypedConfig()
                    .unpack(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.class);
            assertThat(otel.getGrpcService().getGoogleGrpc().getTargetUri()).isEqualTo("otel:4317");
        }
        MeshPolicy http = PolicyValidator.validate(PolicyParser.parse("""
                kind: MeshConfig
                name: mesh
                spec: {accessLog: stdout, tracing: {collector: "http://otel:4318/v1/traces"}}
                """, "test", "api"), 1);
        HttpConnectionManager hcm = Translator.translate(node("sidecar~users~u1", null), self, http, REGISTRY).listeners()
                .get("inbound").getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
        assertThat(hcm.getAccessLog(0).getName()).isEqualTo("envoy.access_loggers.stdout");
        assertThat(hcm.getTracing().getRandomSampling().getValue()).isEqualTo(1.0);
        assertThat(hcm.getTracing().getProvider().getTypedConfig()
                .unpack(io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.class).getHttpService().getHttpUri().getUri())
                .isEqualTo("http://otel:4318/v1/traces");
        HttpConnectionManager none = Translator.translate(node("sidecar~users~u1", null), self, policy(), REGISTRY).listeners()
                .get("inbound").getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
        assertThat(none.getAccessLogCount()).isZero();
        assertThat(none.hasTracing()).isFalse();
    }

    private static ServiceInstance web(String id, int appPort, int appGrpcPort) {
        return new ServiceInstance("web", id, "sidecar~web~" + id, "10.0.0.9", 15006, appPort, "http", Map.of(), List.of(),
                HealthStatus.HEALTHY, "", Instant.EPOCH, true, appGrpcPort);
    }

    @Test
    void anAppGrpcPortGetsItsOwnInboundClusterAndTheGrpcRouteFirst() throws Exception {
        ServiceInstance self = web("w1", 8080, 9090);
        XdsResources r = Translator.translate(node("sidecar~web~w1", "users"), self, MeshPolicy.EMPTY,
                Map.of("web", List.of(self)));
        assertThat(r.clusters().keySet()).contains("inbound|web", "inbound|web|grpc");
        Cluster grpc = r.clusters().get("inbound|web|grpc");
        assertThat(grpc.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress()
                .getPortValue()).isEqualTo(9090);
        assertThat(grpc.getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
                .unpack(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.class)
                .getExplicitHttpConfig().hasHttp2ProtocolOptions()).as("h2c to the app's gRPC port").isTrue();
        assertThat(r.clusters().get("inbound|web").getTypedExtensionProtocolOptionsMap()).as("HTTP/1 to the app port").isEmpty();
        HttpConnectionManager hcm = r.listeners().get("inbound").getFilterChains(0).getFilters(0).getTypedConfig()
                .unpack(HttpConnectionManager.class);
        List<Route> routes = hcm.getRouteConfig().getVirtualHosts(0).getRoutesList();
        assertThat(routes).hasSize(2);
        assertThat(routes.get(0).getMatch().hasGrpc()).isTrue();
        assertThat(routes.get(0).getRoute().getCluster()).isEqualTo("inbound|web|grpc");
        assertThat(routes.get(1).getMatch().hasGrpc()).isFalse();
        assertThat(routes.get(1).getRoute().getCluster()).isEqualTo("inbound|web");

        XdsResources plain = Translator.translate(node("sidecar~web~w1", "users"), web("w1", 8080, 0), MeshPolicy.EMPTY,
                Map.of());
        assertThat(plain.clusters().keySet()).contains("inbound|web").doesNotContain("inbound|web|grpc");
        assertThat(plain.listeners().get("inbound").getFilterChains(0).getFilters(0).getTypedConfig()
                .unpack(HttpConnectionManager.class).getRouteConfig().getVirtualHosts(0).getRoutesCount()).isEqualTo(1);
    }

    @Test
    void httpClustersBetweenSidecarsKeepTheCallersProtocol() throws Exception {
        XdsResources r = Translator.translate(node("sidecar~users~u1", "web"), null, MeshPolicy.EMPTY,
                Map.of("web", List.of(web("w1", 8080, 9090))));
        var options = r.clusters().get("outbound|web")
                .getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
                .unpack(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.class);
        assertThat(options.hasUseDownstreamProtocolConfig()).isTrue();
        assertThat(options.getUseDownstreamProtocolConfig().hasHttp2ProtocolOptions()).isTrue();

        // a server registered without a sidecar (app_port 0) may speak HTTP/1 only: requests go as HTTP/1
        XdsResources direct = Translator.translate(node("sidecar~users~u1", "web"), null, MeshPolicy.EMPTY,
                Map.of("web", List.of(web("w1", 0, 0))));
        assertThat(direct.clusters().get("outbound|web").getTypedExtensionProtocolOptionsMap()).isEmpty();
        // grpc services stay HTTP/2 whatever the caller speaks
        assertThat(Translator.translate(node("sidecar~web~w1", "users"), null, policy(), REGISTRY).clusters().get("outbound|users")
                .getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
                .unpack(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.class)
                .hasExplicitHttpConfig()).isTrue();
    }
}
