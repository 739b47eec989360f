package dev.trellis.sidecar.filter.rbac;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.rbac;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static dev.trellis.sidecar.testing.Boot.withFilters;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.config.StringMatch;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import dev.trellis.sidecar.config.envoy.ListenerTranslator;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** RBAC typed configs from a bootstrap file and as the control plane sends them. */
class RbacTranslatorTest {
    static final String ROUTER = j("{'name': 'envoy.filters.http.router', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'}}");

    static List<HttpFilterConfig> filters(String... rbacFilters) {
        String b = bootstrap(withFilters(listener("in", "", vhost(route("/", "app"))), rbacFilters), cluster("app", "", 8080));
        return BootstrapTranslator.translate(BootstrapLoader.parse(b, false)).listeners().get(0).http().httpFilters();
    }

    static String policy(String permissions, String principals) {
        return j("{'p': {'permissions': [" + permissions + "], 'principals': [" + principals + "]}}");
    }

    @Test
    void bootstrapSubsetLoads() {
        List<HttpFilterConfig> f = filters(rbac("DENY", policy(
                j("{'not_rule': {'or_rules': {'rules': [{'header': {'name': ':path', 'prefix_match': '/x'}}, {'url_path': {'path': {'exact': '/y', 'ignore_case': true}}}]}}}"),
                j("{'and_ids': {'ids': [{'authenticated': {}}, {'not_id': {'authenticated': {'principal_name': {'prefix': 'spiffe://td/'}}}}]}}"))),
                rbac(null, null));
        assertThat(f).hasSize(3);
        RbacConfig deny = (RbacConfig) f.get(0);
        assertThat(deny.name()).isEqualTo("envoy.filters.http.rbac");
        RbacConfig.Rules rules = deny.rules().orElseThrow();
        assertThat(rules.action()).isEqualTo(RbacConfig.Action.DENY);
        RbacConfig.Policy p = rules.policies().get("p");
        assertThat(p.permissions().get(0)).isInstanceOf(RbacConfig.Permission.Not.class);
        RbacConfig.Principal.And and = (RbacConfig.Principal.And) p.principals().get(0);
        assertThat(and.ids().get(0)).isEqualTo(new RbacConfig.Principal.Authenticated(Optional.empty()));
        assertThat(((RbacConfig.Principal.Not) and.ids().get(1)).id()).isEqualTo(new RbacConfig.Principal.Authenticated(
                Optional.of(new StringMatch(StringMatch.Kind.PREFIX, "spiffe://td/", null, false))));
        assertThat(((RbacConfig) f.get(1)).rules()).as("no rules: the filter lets everything through").isEmpty();
        assertThat(f.get(2)).isInstanceOf(HttpFilterConfig.Router.class);
    }

    @Test
    void unsupportedFieldsAreRefusedWithTheirPath() {
        String base = "static_resources.listeners[0] (listener 'in').filter_chains[0].filters[0].typed_config.http_filters[0].typed_config";
        assertThatThrownBy(() -> filters(rbac("LOG", "{}")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(base + ".rules.action: LOG (expected: ALLOW or DENY)");
        assertThatThrownBy(() -> filters(rbac("ALLOW", policy(j("{'destination_port': 80}"), j("{'any': true}")))))
                .hasMessageContaining(base + ".rules.policies['p'].permissions[0].destination_port: not supported by Trellis");
        assertThatThrownBy(() -> filters(rbac("ALLOW", policy(j("{'any': true}"), j("{'or_ids': {'ids': [{'remote_ip': {'address_prefix': '10.0.0.0', 'prefix_len': 8}}]}}")))))
                .hasMessageContaining(base + ".rules.policies['p'].principals[0].or_ids.ids[0].remote_ip: not supported by Trellis");
        assertThatThrownBy(() -> filters(rbac("ALLOW", j("{'p': {'permissions': [{'any': true}]}}"))))
                .hasMessageContaining(base + ".rules.policies['p'].principals: empty (expected: at least one principal)");
        assertThatThrownBy(() -> filters(rbac("ALLOW", policy(j("{'and_rules': {'rules': []}}"), j("{'any': true}")))))
                .hasMessageContaining(base + ".rules.policies['p'].permissions[0].and_rules.rules: empty");
        assertThatThrownBy(() -> filters(j("{'name': 'envoy.filters.http.rbac', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', 'shadow_rules': {'action': 'DENY'}}}")))
                .hasMessageContaining(base + ".shadow_rules: not supported by Trellis (supported here: rules)");
        assertThatThrownBy(() -> filters(j("{'name': 'envoy.filters.http.router'}")))
                .hasMessageContaining("http_filters: 2 routers (expected: the router once, at the end)");
        assertThatThrownBy(() -> filters(j("{'name': 'envoy.filters.http.cors'}")))
                .hasMessageContaining(".http_filters[0].name: 'envoy.filters.http.cors' (expected: envoy.filters.http.router or envoy.filters.http.rbac)");
    }

    @Test
    void filtersAfterTheRouterAreRefused() {
        String b = bootstrap(listener("in", "", vhost(route("/", "app"))), cluster("app", "", 8080))
                .replace(ROUTER, ROUTER + "," + rbac(null, null));
        assertThatThrownBy(() -> BootstrapTranslator.translate(BootstrapLoader.parse(b, false)))
                .hasMessageContaining("http_filters: not ending with the router (expected: ending with envoy.filters.http.router)");
    }

    @Test
    void exampleFileTranslates() throws Exception {
        // with real files in place of the /etc/trellis paths it names
        var pki = new dev.trellis.sidecar.testing.MeshPki();
        java.nio.file.Path[] svid = pki.svid("users");
        String text = java.nio.file.Files.readString(java.nio.file.Path.of("examples/inbound-authz.yaml"))
                .replace("/etc/trellis/svid.pem", svid[0].toAbsolutePath().toString())
                .replace("/etc/trellis/svid-key.pem", svid[1].toAbsolutePath().toString())
                .replace("/etc/trellis/ca-bundle.pem", pki.bundle().toAbsolutePath().toString());
        var c = BootstrapTranslator.translate(BootstrapLoader.parse(text, false));
        var l = c.listeners().get(0);
        assertThat(l.permissive()).isTrue();
        assertThat(l.tls()).isPresent();
        assertThat(l.http().httpFilters()).hasSize(3);
        RbacConfig.Rules allow = ((RbacConfig) l.http().httpFilters().get(1)).rules().orElseThrow();
        assertThat(allow.allows(new RbacConfig.Request(Optional.of("spiffe://trellis.local/ns/default/sa/web"),
                new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").path("/api/x")))).isTrue();
        assertThat(allow.allows(new RbacConfig.Request(Optional.empty(),
                new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").path("/api/x")))).isFalse();
    }

    /** Exactly what control-plane/server's AccessPolicies builds for "default: deny, allow from a GET /public/*". */
    @Test
    void controlPlaneFiltersTranslate() {
        Principal fromA = Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addIds(Principal.newBuilder()
                .setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(
                        StringMatcher.newBuilder().setExact("spiffe://trellis.local/ns/default/sa/a"))))).build();
        Permission getPublic = Permission.newBuilder().setAndRules(Permission.Set.newBuilder()
                .addRules(Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addRules(Permission.newBuilder()
                        .setHeader(HeaderMatcher.newBuilder().setName(":method").setStringMatch(StringMatcher.newBuilder().setExact("GET"))))))
                .addRules(Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addRules(Permission.newBuilder()
                        .setUrlPath(PathMatcher.newBuilder().setPath(StringMatcher.newBuilder().setPrefix("/public/"))))))).build();
        RBAC allow = RBAC.newBuilder().setAction(RBAC.Action.ALLOW)
                .putPolicies("allow-0", Policy.newBuilder().addPrincipals(fromA).addPermissions(getPublic).build()).build();
        RBAC deny = RBAC.newBuilder().setAction(RBAC.Action.DENY)
                .putPolicies("deny-1", Policy.newBuilder().addPrincipals(Principal.newBuilder().setAny(true))
                        .addPermissions(Permission.newBuilder().setAny(true)).build()).build();
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("inbound_http")
                .setRouteConfig(RouteConfiguration.newBuilder().setName("inbound").addVirtualHosts(VirtualHost.newBuilder()
                        .setName("inbound").addDomains("*").addRoutes(io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                                .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix("/"))
                                .setRoute(io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder().setCluster("inbound|b")))))
                .addHttpFilters(filter(deny)).addHttpFilters(filter(allow))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(Router.getDefaultInstance())))
                .build();
        List<HttpFilterConfig> f = ListenerTranslator.hcm(hcm, "lds").httpFilters();
        assertThat(f).hasSize(3);
        RbacConfig.Rules a = ((RbacConfig) f.get(1)).rules().orElseThrow();
        assertThat(a.allows(new RbacConfig.Request(Optional.of("spiffe://trellis.local/ns/default/sa/a"),
                new io.netty.handler.codec.http2.DefaultHttp2Headers().method("GET").path("/public/x")))).isTrue();
        assertThat(a.allows(new RbacConfig.Request(Optional.of("spiffe://trellis.local/ns/default/sa/a"),
                new io.netty.handler.codec.http2.DefaultHttp2Headers().method("POST").path("/public/x")))).isFalse();
        assertThat(((RbacConfig) f.get(0)).rules().orElseThrow().action()).isEqualTo(RbacConfig.Action.DENY);
    }

    static HttpFilter filter(RBAC rules) {
        return HttpFilter.newBuilder().setName(RbacTranslator.NAME).setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(rules).build())).build();
    }
}
