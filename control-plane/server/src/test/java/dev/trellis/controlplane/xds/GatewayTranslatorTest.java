package dev.trellis.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.PolicyException;
import dev.trellis.controlplane.policy.PolicyParser;
import dev.trellis.controlplane.policy.PolicyValidator;
import dev.trellis.controlplane.registry.ServiceInstance;
import dev.trellis.controlplane.api.v1.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GatewayTranslatorTest {
    static final String POLICY = """
            kind: Gateway
            name: edge
            spec:
              port: 8443
              httpPort: 8080
              hosts: [example.local]
              tls: {certFile: /etc/edge.crt, keyFile: /etc/edge.key}
              xffTrustedHops: 1
              maxRequestBytes: 1048576
              jwt: {issuer: https://issuer.example, audiences: [api], jwksUri: "https://idp.example/jwks", jwksRefetchInterval: 60s}
              rateLimit: {requestsPerSecond: 50, burst: 100}
              routes:
                - {pathPrefix: /api, service: users, requireJwt: true, rateLimit: {requestsPerSecond: 1, burst: 5, key: jwt-subject}}
                - {pathPrefix: /api/admin, service: users, requireScopes: [admin], timeout: 2s}
                - {pathPrefix: /, service: web, hosts: [www.example.local], cors: {allowOrigins: ["https://app.example"], allowMethods: [GET]}}
            ---
            kind: Service
            name: users
            spec: {timeout: 7s}
            """;

    static MeshPolicy policy(String yaml) throws PolicyException {
        return PolicyValidator.validate(PolicyParser.parse(yaml, "test", "api"), 1);
    }

    static ServiceInstance instance(String svc, String id) {
        return new ServiceInstance(svc, id, "sidecar~" + svc + "~" + id, "10.0.0.1", 15006, 8080, "http",
                Map.of(), List.of(), HealthStatus.HEALTHY, "", Instant.EPOCH, true);
    }

    static final Map<String, List<ServiceInstance>> REGISTRY = Map.of("users", List.of(instance("users", "u1")),
            "web", List.of(instance("web", "w1")), "other", List.of(instance("other", "o1")));

    static XdsResources gateway(String name, MeshPolicy p) {
        return Translator.translate(ProxyNode.of(Node.newBuilder().setId("gateway~" + name + "~g1").build()), null, p, REGISTRY);
    }

    static HttpConnectionManager hcm(Listener l) throws Exception {
        return l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    }

    @Test
    void gatewayGetsItsListenersRoutesAndOnlyItsClusters() throws Exception {
        XdsResources r = gateway("edge", policy(POLICY));
        assertThat(r.listeners().keySet()).containsExactly(GatewayTranslator.HTTP, GatewayTranslator.HTTPS);
        assertThat(r.clusters().keySet()).containsExactly("outbound|users", "outbound|web");
        assertThat(r.endpoints().keySet()).containsExactly("outbound|users", "outbound|web");
        assertThat(r.routes()).isEmpty();

        Listener https = r.listeners().get(GatewayTranslator.HTTPS);
        assertThat(https.getAddress().getSocketAddress().getPortValue()).isEqualTo(8443);
        DownstreamTlsContext tls = https.getFilterChains(0).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        assertThat(tls.getCommonTlsContext().getAlpnProtocolsList()).containsExactly("h2", "http/1.1");
        assertThat(tls.getCommonTlsContext().getTlsCertificates(0).getCertificateChain().getFilename()).isEqualTo("/etc/edge.crt");

        HttpConnectionManager h = hcm(https);
        assertThat(h.getXffNumTrustedHops()).isEqualTo(1);
        assertThat(h.getHttpFiltersList()).extracting(HttpFilter::getName).containsExactly(GatewayTranslator.CORS,
                GatewayTranslator.BUFFER, GatewayTranslator.JWT, GatewayTranslator.RATELIMIT, Translator.ROUTER);
        JwtAuthentication jwt = h.getHttpFilters(2).getTypedConfig().unpack(JwtAuthentication.class);
        assertThat(jwt.getProvidersMap().get("gateway").getRemoteJwks().getHttpUri().getUri()).isEqualTo("https://idp.example/jwks");
        assertThat(jwt.getProvidersMap().get("gateway").getRemoteJwks().getAsyncFetch().getFailedRefetchDuration().getSeconds()).isEqualTo(60);
        assertThat(jwt.getProvidersMap().get("gateway").getClaimToHeaders(0).getHeaderName()).isEqualTo("x-jwt-sub");

        RouteConfiguration rc = h.getRouteConfig();
        assertThat(rc.getVirtualHostsList()).hasSize(2);
        assertThat(rc.getVirtualHosts(0).getDomainsList()).containsExactly("example.local", "example.local:*");
        List<Route> api = rc.getVirtualHosts(0).getRoutesList();
        // the longer prefix comes first
        assertThat(api).extracting(rt -> rt.getMatch().getPrefix()).containsExactly("/api/admin", "/api");
        assertThat(api.get(0).getRoute().getTimeout().getSeconds()).isEqualTo(2);
        assertThat(api.get(1).getRoute().getTimeout().getSeconds()).isEqualTo(7);
        assertThat(api.get(0).getMetadata().getFilterMetadataOrThrow(GatewayTranslator.CLAIMS_METADATA)
                .getFieldsOrThrow("required_scopes").getListValue().getValues(0).getStringValue()).isEqualTo("admin");
        assertThat(api.get(1).getTypedPerFilterConfigOrThrow(GatewayTranslator.JWT).unpack(PerRouteConfig.class).getRequirementName())
                .isEqualTo("gateway");
        LocalRateLimit perRoute = api.get(1).getTypedPerFilterConfigOrThrow(GatewayTranslator.RATELIMIT).unpack(LocalRateLimit.class);
        assertThat(perRoute.getTokenBucket().getMaxTokens()).isEqualTo(5);
        assertThat(perRoute.getRateLimits(0).getActions(0).getRequestHeaders().getHeaderName()).isEqualTo("x-jwt-sub");
        Route web = rc.getVirtualHosts(1).getRoutes(0);
        assertThat(rc.getVirtualHosts(1).getDomainsList()).contains("www.example.local");
        assertThat(web.getTypedPerFilterConfigOrThrow(GatewayTranslator.JWT).unpack(PerRouteConfig.class).getDisabled()).isTrue();
        assertThat(web.getTypedPerFilterConfigMap()).containsKey(GatewayTranslator.CORS);

        RouteConfiguration redirect = hcm(r.listeners().get(GatewayTranslator.HTTP)).getRouteConfig();
        assertThat(redirect.getVirtualHosts(0).getRoutes(0).getRedirect().getHttpsRedirect()).isTrue();
        assertThat(redirect.getVirtualHosts(0).getRoutes(0).getRedirect().getPortRedirect()).isEqualTo(8443);
    }

    @Test
    void unknownGatewayGetsNothingAndSidecarsAreUnchanged() throws Exception {
        MeshPolicy p = policy(POLICY);
        XdsResources none = gateway("nope", p);
        assertThat(none.listeners()).isEmpty();
        assertThat(none.clusters()).isEmpty();
        XdsResources sidecar = Translator.translate(ProxyNode.of(Node.newBuilder().setId("sidecar~web~w1").build()), null, p, REGISTRY);
        assertThat(sidecar.listeners()).doesNotContainKeys(GatewayTranslator.HTTPS, GatewayTranslator.HTTP);
    }

    @Test
    void serveModeUsesTheSameRoutesOnPlainHttp() throws Exception {
        XdsResources r = gateway("edge", policy("""
                kind: Gateway
                name: edge
                spec:
                  httpPort: 8080
                  httpMode: serve
                  routes: [{pathPrefix: /, service: web}]
                """));
        HttpConnectionManager http = hcm(r.listeners().get(GatewayTranslator.HTTP));
        assertThat(http.getRouteConfig().getVirtualHosts(0).getRoutes(0).getRoute().getCluster()).isEqualTo("outbound|web");
        assertThat(r.listeners().get(GatewayTranslator.HTTPS).getFilterChains(0).hasTransportSocket()).isFalse();
    }

    @Test
    void validationNamesFieldsOfTheNewGatewaySettings() {
        PolicyException e = org.junit.jupiter.api.Assertions.assertThrows(PolicyException.class, () -> policy("""
                kind: Gateway
                name: edge
                spec:
                  httpPort: 8443
                  jwt: {issuer: i, jwksUri: "http://plain/jwks"}
                  routes:
                    - {pathPrefix: /a, service: web, rateLimit: {key: "header:"}}
                    - {pathPrefix: /b, service: web, rateLimit: {key: jwt-subject}}
                    - {pathPrefix: /c, service: web, cors: {allowMethods: [GET]}}
                """));
        assertThat(e.errors()).contains(
                "Gateway/edge: spec.httpPort: 8443 (expected: a port other than port)",
                "Gateway/edge: spec.jwt.jwksUri: http://plain/jwks (expected: an https:// URL)",
                "Gateway/edge: spec.routes[0].rateLimit.key: header: (expected: client-ip, jwt-subject, global or header:NAME)",
                "Gateway/edge: spec.routes[1].rateLimit.key: jwt-subject (expected: a route that requires a JWT)",
                "Gateway/edge: spec.routes[2].cors.allowOrigins: [] (expected: at least one origin (https://app.example) or *)");
    }

    @Test
    void routeDocumentsOfTheServiceApplyUnderTheGatewayPrefix() throws Exception {
        XdsResources r = gateway("edge", policy("""
                kind: Gateway
                name: edge
                spec:
                  routes:
                    - {pathPrefix: /api/users, service: users, rewritePrefix: /users}
                    - {pathPrefix: /web, service: web, timeout: 3s}
                ---
                kind: Route
                name: users-canary
                spec:
                  service: users
                  rules:
                    - match: {pathPrefix: /, headers: {x-canary: "1"}}
                      destinations: [{subset: {version: v2}, weight: 100}]
                      requestHeaders: {set: {x-route: canary}}
                    - match: {pathPrefix: /users/admin}
                      destinations: [{subset: {version: v1}, weight: 100}]
                      timeout: 1s
                    - match: {pathPrefix: /other}
                      destinations: [{subset: {version: v1}, weight: 100}]
                    - match: {path: /users/me}
                      destinations: [{subset: {version: v1}, weight: 100}]
                      fault: {abort: {status: 503, percent: 100}}
                    - match: {pathPrefix: /}
                      destinations: [{subset: {version: v1}, weight: 90}, {subset: {version: v2}, weight: 10}]
                      retries: {attempts: 2, retryOn: [5xx]}
                ---
                kind: Route
                name: web-regex
                spec:
                  service: web
                  rules:
                    - match: {pathRegex: "/web/[0-9]+"}
                      destinations: [{subset: {version: v2}, weight: 100}]
                ---
                kind: Service
                name: users
                spec: {timeout: 7s}
                """));
        HttpConnectionManager h = hcm(r.listeners().get(GatewayTranslator.HTTPS));
        // a fault in a Route rule brings the fault filter, after the gateway's own filters
        assertThat(h.getHttpFiltersList()).extracting(HttpFilter::getName).containsExactly(GatewayTranslator.BUFFER,
                Translator.FAULT, Translator.ROUTER);
        List<Route> routes = h.getRouteConfig().getVirtualHosts(0).getRoutesList();
        assertThat(routes).extracting(rt -> rt.getMatch().getPathSpecifierCase().name() + " " + rt.getMatch().getPrefix()
                + rt.getMatch().getPath() + rt.getMatch().getSafeRegex().getRegex() + " -> " + rt.getRoute().getPrefixRewrite())
                .containsExactly(
                        "PREFIX /api/users -> /users",              // header rule (prefix / covers all of /users)
                        "PREFIX /api/users/admin -> /users/admin",  // moved under the gateway prefix
                        "PATH /api/users/me -> /users/me",           // (/other cannot match under /users: dropped)
                        "PREFIX /api/users -> /users",              // the 90/10 split
                        "PREFIX /api/users -> /users",              // the service's default route
                        "SAFE_REGEX /web/[0-9]+ -> ",               // regex kept, prefix as a :path match
                        "PREFIX /web -> ");
        assertThat(routes.get(0).getMatch().getHeaders(0).getName()).isEqualTo("x-canary");
        assertThat(routes.get(0).getRoute().getCluster()).isEqualTo("outbound|users|version=v2");
        assertThat(routes.get(0).getRequestHeadersToAdd(0).getHeader().getKey()).isEqualTo("x-route");
        assertThat(routes.get(1).getRoute().getTimeout().getSeconds()).isEqualTo(1);
        assertThat(routes.get(2).getTypedPerFilterConfigMap()).containsKey(Translator.FAULT);
        assertThat(routes.get(3).getRoute().getWeightedClusters().getClustersList())
                .extracting(c -> c.getName() + "=" + c.getWeight().getValue())
                .containsExactly("outbound|users|version=v1=90", "outbound|users|version=v2=10");
        assertThat(routes.get(3).getRoute().getRetryPolicy().getNumRetries().getValue()).isEqualTo(2);
        assertThat(routes.get(4).getRoute().getCluster()).isEqualTo("outbound|users");
        assertThat(routes.get(4).getRoute().getTimeout().getSeconds()).isEqualTo(7);
        assertThat(routes.get(4).getName()).isEqualTo("edge/0 /api/users -> users");
        assertThat(routes.get(5).getMatch().getHeaders(0).getName()).isEqualTo(":path");
        assertThat(routes.get(5).getMatch().getHeaders(0).getStringMatch().getPrefix()).isEqualTo("/web");
        // a gateway route's own timeout wins over the service's and its rules'
        assertThat(routes.get(5).getRoute().getTimeout().getSeconds()).isEqualTo(3);
        assertThat(routes.get(6).getRoute().getTimeout().getSeconds()).isEqualTo(3);
        // every cluster the routes name, subsets included
        assertThat(r.clusters().keySet()).containsExactly("outbound|users", "outbound|users|version=v1",
                "outbound|users|version=v2", "outbound|web", "outbound|web|version=v2");
        assertThat(r.endpoints().keySet()).isEqualTo(r.clusters().keySet());
    }

    @Test
    void aRemoteJwksWithACaFileGetsItsCluster() throws Exception {
        XdsResources r = gateway("edge", policy("""
                kind: Gateway
                name: edge
                spec:
                  jwt: {issuer: i, jwksUri: "https://idp.example:8443/jwks", jwksCaFile: /etc/idp-ca.pem}
                  routes: [{pathPrefix: /, service: web, requireJwt: true}]
                """));
        io.envoyproxy.envoy.config.cluster.v3.Cluster c = r.clusters().get(GatewayTranslator.JWKS_CLUSTER);
        assertThat(c).isNotNull();
        assertThat(c.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress()
                .getPortValue()).isEqualTo(8443);
        var tls = c.getTransportSocket().getTypedConfig()
                .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class);
        assertThat(tls.getSni()).isEqualTo("idp.example");
        assertThat(tls.getCommonTlsContext().getValidationContext().getTrustedCa().getFilename()).isEqualTo("/etc/idp-ca.pem");
    }

    @Test
    void aRegexRuleBehindARewriteIsNotApplied() throws Exception {
        XdsResources r = gateway("edge", policy("""
                kind: Gateway
                name: edge
                spec:
                  routes: [{pathPrefix: /api, service: web, rewritePrefix: /}]
                ---
                kind: Route
                name: web-regex
                spec:
                  service: web
                  rules: [{match: {pathRegex: "/[0-9]+"}, destinations: [{subset: {version: v2}, weight: 100}]}]
                """));
        List<Route> routes = hcm(r.listeners().get(GatewayTranslator.HTTPS)).getRouteConfig().getVirtualHosts(0).getRoutesList();
        assertThat(routes).hasSize(1);
        assertThat(routes.get(0).getRoute().getPrefixRewrite()).isEqualTo("/");
        assertThat(r.clusters().keySet()).containsExactly("outbound|web");
    }
}
