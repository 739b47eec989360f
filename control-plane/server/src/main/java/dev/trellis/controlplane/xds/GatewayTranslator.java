package dev.trellis.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.MeshPolicy.GatewayRoute;
import dev.trellis.controlplane.policy.MeshPolicy.GatewaySpec;
import dev.trellis.controlplane.policy.MeshPolicy.RateLimit;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RateLimit.Action;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.XRateLimitHeadersRFCVersion;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwksAsyncFetch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Compiles a {@code Gateway} policy into the xDS resources of a gateway node
 * ({@code gateway~<name>~<instance>}): listener {@value #HTTPS} on {@code port} (TLS 1.2-1.3 as the sidecar's default, ALPN h2
 * and http/1.1, certificate files from the policy), optionally {@value #HTTP} on {@code httpPort}
 * (redirect or the same routes), each with an inline route table and the filters cors, buffer,
 * jwt_authn and local_ratelimit before the router; plus the mesh's {@code outbound|<service>}
 * clusters of the services the routes name.
 */
public final class GatewayTranslator {
    public static final String HTTPS = "gateway-https";
    public static final String HTTP = "gateway-http";
    public static final String JWT = "envoy.filters.http.jwt_authn";
    public static final String RATELIMIT = "envoy.filters.http.local_ratelimit";
    public static final String CORS = "envoy.filters.http.cors";
    public static final String BUFFER = "envoy.filters.http.buffer";
    /** The JWT provider's name in the filter config and its requirement's name. */
    public static final String PROVIDER = "gateway";
    /** Route metadata namespace for required scopes (read by the sidecar's JWT filter). */
    public static final String CLAIMS_METADATA = "trellis.jwt_authn";
    /** The cluster a remote JWKS's {@code http_uri} names; the gateway reads its CA from it. */
    public static final String JWKS_CLUSTER = "gateway|jwks";

    private GatewayTranslator() {}

    /** The outbound key whose clusters a gateway needs: the services its routes name. */
    public static Translator.OutboundKey outboundKey(ProxyNode node, MeshPolicy policy) {
        GatewaySpec g = policy.gateways().get(node.service());
        List<String> services = g == null ? List.of() : g.routes().stream().map(GatewayRoute::service).distinct().sorted().toList();
        // no routes: a name no service has, so the outbound scope is empty rather than everything
        return new Translator.OutboundKey(false, services.isEmpty() ? List.of("gateway|" + node.service()) : services, 0);
    }

    /** The gateway's resources, given the outbound resources for {@link #outboundKey}. */
    public static XdsResources resources(ProxyNode node, XdsResources outbound, MeshPolicy policy) {
        GatewaySpec g = policy.gateways().get(node.service());
        if (g == null) {
            return new XdsResources(Map.of(), Map.of(), Map.of(), Map.of());
        }
        Map<String, Cluster> clusters = new TreeMap<>();
        Map<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
        for (GatewayRoute r : g.routes()) {
            String name = Translator.clusterName(r.service(), Map.of());
            Cluster c = outbound.clusters().get(name);
            if (c != null) {
                clusters.put(name, c);
            }
            ClusterLoadAssignment cla = outbound.endpoints().get(name);
            if (cla != null) {
                endpoints.put(name, cla);
            }
        }
        Map<String, Listener> listeners = new TreeMap<>();
        RouteConfiguration routes = routeTable(g, policy);
        MeshPolicy.Telemetry t = policy.meshConfig().telemetry();
        listeners.put(HTTPS, listener(HTTPS, g.port(), routes, g, g.tls(), t));
        g.httpPort().ifPresent(p -> listeners.put(HTTP, listener(HTTP, p,
                g.httpMode() == MeshPolicy.HttpMode.SERVE ? routes : redirectTable(g), g, Optional.empty(), t)));
        return new XdsResources(listeners, Map.of(), clusters, endpoints);
    }

    private static Listener listener(String name, int port, RouteConfiguration routes, GatewaySpec g,
                                     Optional<MeshPolicy.GatewayTls> tls, MeshPolicy.Telemetry telemetry) {
        HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder().setStatPrefix(name)
                .setRouteConfig(routes.toBuilder().setName(name))
                .setXffNumTrustedHops(g.xffTrustedHops());
        Translator.telemetry(hcm, telemetry);
        hcm.addAllHttpFilters(filters(g));
        hcm.addHttpFilters(Translator.routerFilter());
        FilterChain.Builder fc = FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(Translator.HCM)
                .setTypedConfig(Any.pack(hcm.build())));
        tls.ifPresent(t -> fc.setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(DownstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
                        .addAlpnProtocols("h2").addAlpnProtocols("http/1.1")
                        .addTlsCertificates(TlsCertificate.newBuilder()
                                .setCertificateChain(DataSource.newBuilder().setFilename(t.certFile()))
                                .setPrivateKey(DataSource.newBuilder().setFilename(t.keyFile())))).build()))));
        return Listener.newBuilder().setName(name).setAddress(Translator.address("0.0.0.0", port))
                .setTrafficDirection(TrafficDirection.INBOUND).addFilterChains(fc).build();
    }

    private static List<HttpFilter> filters(GatewaySpec g) {
        List<HttpFilter> out = new ArrayList<>();
        if (g.routes().stream().anyMatch(r -> r.cors().isPresent())) {
            out.add(HttpFilter.newBuilder().setName(CORS).setTypedConfig(Any.pack(Cors.getDefaultInstance())).build());
        }
        out.add(HttpFilter.newBuilder().setName(BUFFER).setTypedConfig(Any.pack(Buffer.newBuilder()
                .setMaxRequestBytes(UInt32Value.of((int) g.maxRequestBytes())).build())).build());
        g.jwt().ifPresent(j -> out.add(HttpFilter.newBuilder().setName(JWT).setTypedConfig(Any.pack(jwt(j))).build()));
        if (g.rateLimit().isPresent() || g.routes().stream().anyMatch(r -> r.rateLimit().isPresent())) {
            out.add(HttpFilter.newBuilder().setName(RATELIMIT).setTypedConfig(Any.pack(g.rateLimit().map(GatewayTranslator::rateLimit)
                    .orElse(LocalRateLimit.newBuilder().setStatPrefix("gateway_ratelimit").build()))).build());
        }
        return out;
    }

    private static JwtAuthentication jwt(MeshPolicy.Jwt j) {
        JwtProvider.Builder p = JwtProvider.newBuilder().setIssuer(j.issuer()).addAllAudiences(j.audiences())
                .setForward(j.forward()).setClockSkewSeconds(j.clockSkewSeconds() == 0 ? 1 : j.clockSkewSeconds());
        new TreeMap<>(j.claimHeaders()).forEach((h, c) -> p.addClaimToHeaders(JwtClaimToHeader.newBuilder()
                .setHeaderName(h).setClaimName(c)));
        if (j.jwksFile().isPresent()) {
            p.setLocalJwks(DataSource.newBuilder().setFilename(j.jwksFile().get()));
        } else {
            p.setRemoteJwks(RemoteJwks.newBuilder()
                    .setHttpUri(HttpUri.newBuilder().setUri(j.jwksUri().orElseThrow()).setCluster(JWKS_CLUSTER)
                            .setTimeout(Translator.pb(Duration.ofSeconds(5))))
                    .setCacheDuration(Translator.pb(j.jwksCacheDuration()))
                    .setAsyncFetch(JwksAsyncFetch.newBuilder().setFailedRefetchDuration(Translator.pb(j.jwksRefetchInterval()))));
        }
        return JwtAuthentication.newBuilder().putProviders(PROVIDER, p.build())
                .putRequirementMap(PROVIDER, JwtRequirement.newBuilder().setProviderName(PROVIDER).build())
                .setBypassCorsPreflight(true).build();
    }

    private static LocalRateLimit rateLimit(RateLimit r) {
        RuntimeFractionalPercent all = RuntimeFractionalPercent.newBuilder().setDefaultValue(
                FractionalPercent.newBuilder().setNumerator(100).setDenominator(FractionalPercent.DenominatorType.HUNDRED)).build();
        LocalRateLimit.Builder b = LocalRateLimit.newBuilder().setStatPrefix("gateway_ratelimit")
                .setTokenBucket(TokenBucket.newBuilder().setMaxTokens(r.burst())
                        .setTokensPerFill(UInt32Value.of(r.requestsPerSecond())).setFillInterval(Translator.pb(Duration.ofSeconds(1))))
                .setFilterEnabled(all).setFilterEnforced(all)
                .setEnableXRatelimitHeaders(XRateLimitHeadersRFCVersion.DRAFT_VERSION_03);
        Action action = switch (r.key()) {
            case CLIENT_IP -> Action.newBuilder().setRemoteAddress(Action.RemoteAddress.getDefaultInstance()).build();
            case JWT_SUBJECT -> Action.newBuilder().setRequestHeaders(Action.RequestHeaders.newBuilder()
                    .setHeaderName("x-jwt-sub").setDescriptorKey("sub")).build();
            case HEADER -> Action.newBuilder().setRequestHeaders(Action.RequestHeaders.newBuilder()
                    .setHeaderName(r.header().orElseThrow()).setDescriptorKey("header")).build();
            case GLOBAL -> null;
        };
        if (action != null) {
            b.addRateLimits(io.envoyproxy.envoy.config.route.v3.RateLimit.newBuilder().addActions(action));
        }
        return b.build();
    }

    private static RouteConfiguration routeTable(GatewaySpec g, MeshPolicy policy) {
        // routes grouped by their hosts (a route's own hosts, else the gateway's, else any host)
        Map<List<String>, List<Route>> byHosts = new LinkedHashMap<>();
        for (int i = 0; i < g.routes().size(); i++) {
            GatewayRoute r = g.routes().get(i);
            List<String> hosts = !r.hosts().isEmpty() ? r.hosts() : !g.hosts().isEmpty() ? g.hosts() : List.of("*");
            byHosts.computeIfAbsent(List.copyOf(new TreeSet<>(hosts)), k -> new ArrayList<>()).add(route(g, r, i, policy));
        }
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(HTTPS);
        int v = 0;
        for (Map.Entry<List<String>, List<Route>> e : byHosts.entrySet()) {
            List<Route> routes = new ArrayList<>(e.getValue());
            // longest prefix first, so /api/users wins over /api whatever the policy order
            routes.sort((a, b) -> Integer.compare(b.getMatch().getPrefix().length(), a.getMatch().getPrefix().length()));
            List<String> domains = new ArrayList<>();
            for (String h : e.getKey()) {
                domains.add(h);
                if (!h.equals("*")) {
                    domains.add(h + ":*");
                }
            }
            rc.addVirtualHosts(VirtualHost.newBuilder().setName("gateway-" + v++).addAllDomains(domains).addAllRoutes(routes));
        }
        return rc.build();
    }

    private static Route route(GatewaySpec g, GatewayRoute r, int index, MeshPolicy policy) {
        MeshPolicy.ServiceSpec spec = policy.serviceOrDefault(r.service());
        RouteAction.Builder a = RouteAction.newBuilder().setCluster(Translator.clusterName(r.service(), Map.of()));
        Translator.timeoutAndRetries(a, r.timeout().orElse(spec.timeout()), spec.retries(), false);
        r.rewritePrefix().ifPresent(a::setPrefixRewrite);
        Route.Builder b = Route.newBuilder().setName(g.name() + "/" + index + " " + r.pathPrefix() + " -> " + r.service())
                .setMatch(RouteMatch.newBuilder().setPrefix(r.pathPrefix())).setRoute(a);
        if (g.jwt().isPresent()) {
            b.putTypedPerFilterConfig(JWT, Any.pack(r.requireJwt()
                    ? PerRouteConfig.newBuilder().setRequirementName(PROVIDER).build()
                    : PerRouteConfig.newBuilder().setDisabled(true).build()));
        }
        if (!r.requireScopes().isEmpty()) {
            ListValue.Builder scopes = ListValue.newBuilder();
            r.requireScopes().forEach(s -> scopes.addValues(Value.newBuilder().setStringValue(s)));
            b.setMetadata(Metadata.newBuilder().putFilterMetadata(CLAIMS_METADATA, Struct.newBuilder()
                    .putFields("required_scopes", Value.newBuilder().setListValue(scopes).build()).build()));
        }
        r.rateLimit().ifPresent(rl -> b.putTypedPerFilterConfig(RATELIMIT, Any.pack(rateLimit(rl))));
        r.cors().ifPresent(c -> b.putTypedPerFilterConfig(CORS, Any.pack(cors(c))));
        return b.build();
    }

    private static CorsPolicy cors(MeshPolicy.Cors c) {
        CorsPolicy.Builder b = CorsPolicy.newBuilder()
                .setAllowMethods(String.join(", ", c.allowMethods()))
                .setAllowHeaders(String.join(", ", c.allowHeaders()))
                .setExposeHeaders(String.join(", ", c.exposeHeaders()))
                .setAllowCredentials(BoolValue.of(c.allowCredentials()));
        c.maxAge().ifPresent(m -> b.setMaxAge(Long.toString(m.toSeconds())));
        for (String o : c.allowOrigins()) {
            b.addAllowOriginStringMatch(StringMatcher.newBuilder().setExact(o));
        }
        return b.build();
    }

    private static RouteConfiguration redirectTable(GatewaySpec g) {
        RedirectAction.Builder r = RedirectAction.newBuilder().setHttpsRedirect(true)
                .setResponseCode(RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT);
        if (g.port() != 443) {
            r.setPortRedirect(g.port());
        }
        return RouteConfiguration.newBuilder().setName(HTTP).addVirtualHosts(VirtualHost.newBuilder().setName("redirect")
                .addDomains("*").addRoutes(Route.newBuilder().setName("to-https")
                        .setMatch(RouteMatch.newBuilder().setPrefix("/")).setRedirect(r))).build();
    }
}
