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
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
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
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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

    /**
     * The gateway's resources, given the outbound resources for {@link #outboundKey}: each gateway
     * route is expanded into the routes the mesh's outbound table has for its service ({@code Route}
     * rules, then the default route), so splits, header matches and changes, timeouts, retries and
     * faults are the sidecars' own; the clusters are those the expanded routes name.
     */
    public static XdsResources resources(ProxyNode node, XdsResources outbound, MeshPolicy policy) {
        GatewaySpec g = policy.gateways().get(node.service());
        if (g == null) {
            return new XdsResources(Map.of(), Map.of(), Map.of(), Map.of());
        }
        Map<String, VirtualHost> meshHosts = new TreeMap<>();
        RouteConfiguration mesh = outbound.routes().get(Translator.OUTBOUND);
        if (mesh != null) {
            mesh.getVirtualHostsList().forEach(vh -> meshHosts.put(vh.getName(), vh));
        }
        RouteConfiguration routes = routeTable(g, meshHosts);
        Set<String> used = new TreeSet<>();
        for (VirtualHost vh : routes.getVirtualHostsList()) {
            for (Route r : vh.getRoutesList()) {
                RouteAction a = r.getRoute();
                if (!a.getCluster().isEmpty()) {
                    used.add(a.getCluster());
                }
                a.getWeightedClusters().getClustersList().forEach(c -> used.add(c.getName()));
            }
        }
        Map<String, Cluster> clusters = new TreeMap<>();
        Map<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
        for (String name : used) {
            Cluster c = outbound.clusters().get(name);
            if (c != null) {
                clusters.put(name, c);
            }
            ClusterLoadAssignment cla = outbound.endpoints().get(name);
            if (cla != null) {
                endpoints.put(name, cla);
            }
        }
        g.jwt().filter(j -> j.jwksUri().isPresent() && j.jwksCaFile().isPresent())
                .flatMap(j -> jwksCluster(j.jwksUri().get(), j.jwksCaFile().get())).ifPresent(c -> clusters.put(JWKS_CLUSTER, c));
        boolean fault = routes.getVirtualHostsList().stream().flatMap(vh -> vh.getRoutesList().stream())
                .anyMatch(r -> r.containsTypedPerFilterConfig(Translator.FAULT));
        Map<String, Listener> listeners = new TreeMap<>();
        MeshPolicy.Telemetry t = policy.meshConfig().telemetry();
        listeners.put(HTTPS, listener(HTTPS, g.port(), routes, g, g.tls(), t, fault));
        g.httpPort().ifPresent(p -> listeners.put(HTTP, g.httpMode() == MeshPolicy.HttpMode.SERVE
                ? listener(HTTP, p, routes, g, Optional.empty(), t, fault)
                : listener(HTTP, p, redirectTable(g), g, Optional.empty(), t, false)));
        return new XdsResources(listeners, Map.of(), clusters, endpoints);
    }

    private static Listener listener(String name, int port, RouteConfiguration routes, GatewaySpec g,
                                     Optional<MeshPolicy.GatewayTls> tls, MeshPolicy.Telemetry telemetry, boolean fault) {
        HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder().setStatPrefix(name)
                .setRouteConfig(routes.toBuilder().setName(name))
                .setXffNumTrustedHops(g.xffTrustedHops());
        Translator.telemetry(hcm, telemetry);
        hcm.addAllHttpFilters(filters(g));
        if (fault) {
            // after authentication and rate limits: a refused request is never delayed or aborted by a fault
            hcm.addHttpFilters(HttpFilter.newBuilder().setName(Translator.FAULT)
                    .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())));
        }
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

    /**
     * The cluster a remote JWKS's {@code http_uri} names: the key server's address, and the
     * policy's {@code jwksCaFile} as the trust the gateway verifies that server with.
     */
    private static Optional<Cluster> jwksCluster(String uri, String caFile) {
        URI u;
        try {
            u = URI.create(uri);
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // the validator accepted it as https://...; without a host there is nothing to trust
        }
        if (u.getHost() == null) {
            return Optional.empty();
        }
        int port = u.getPort() > 0 ? u.getPort() : 443;
        return Optional.of(Cluster.newBuilder().setName(JWKS_CLUSTER).setType(Cluster.DiscoveryType.STRICT_DNS)
                .setConnectTimeout(Translator.pb(Duration.ofSeconds(5))).setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(JWKS_CLUSTER)
                        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                .setEndpoint(Endpoint.newBuilder().setAddress(Translator.address(u.getHost(), port))))))
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                        .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setSni(u.getHost())
                                .setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(
                                        CertificateValidationContext.newBuilder().setTrustedCa(
                                                DataSource.newBuilder().setFilename(caFile)))).build())))
                .build());
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

    private static RouteConfiguration routeTable(GatewaySpec g, Map<String, VirtualHost> meshHosts) {
        // gateway routes grouped by their hosts (a route's own hosts, else the gateway's, else any host)
        Map<List<String>, List<Integer>> byHosts = new LinkedHashMap<>();
        for (int i = 0; i < g.routes().size(); i++) {
            GatewayRoute r = g.routes().get(i);
            List<String> hosts = !r.hosts().isEmpty() ? r.hosts() : !g.hosts().isEmpty() ? g.hosts() : List.of("*");
            byHosts.computeIfAbsent(List.copyOf(new TreeSet<>(hosts)), k -> new ArrayList<>()).add(i);
        }
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(HTTPS);
        int v = 0;
        for (Map.Entry<List<String>, List<Integer>> e : byHosts.entrySet()) {
            List<Integer> indexes = new ArrayList<>(e.getValue());
            // longest prefix first, so /api/users wins over /api whatever the policy order; the routes
            // one gateway route expands into keep the order of the service's rules
            indexes.sort((a, b) -> Integer.compare(g.routes().get(b).pathPrefix().length(), g.routes().get(a).pathPrefix().length()));
            List<Route> routes = new ArrayList<>();
            for (int i : indexes) {
                routes.addAll(routes(g, g.routes().get(i), i, meshHosts.get(g.routes().get(i).service())));
            }
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

    /**
     * The routes of gateway route {@code r}: one per route of the service's mesh virtual host whose
     * path match can hold under the route's prefix, with the gateway's own settings added.
     */
    private static List<Route> routes(GatewaySpec g, GatewayRoute r, int index, VirtualHost mesh) {
        String name = g.name() + "/" + index + " " + r.pathPrefix() + " -> " + r.service();
        List<Route> meshRoutes = mesh != null ? mesh.getRoutesList() : List.of(Route.newBuilder()
                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setCluster(Translator.clusterName(r.service(), Map.of()))).build());
        List<Route> out = new ArrayList<>();
        for (int j = 0; j < meshRoutes.size(); j++) {
            Route m = meshRoutes.get(j);
            boolean last = j == meshRoutes.size() - 1;
            Optional<Route.Builder> scoped = underPrefix(m, r.pathPrefix(), r.rewritePrefix());
            if (scoped.isEmpty()) {
                continue;
            }
            Route.Builder b = scoped.get().setName(last ? name : name + " rule " + j);
            r.timeout().ifPresent(t -> b.getRouteBuilder().setTimeout(Translator.pb(t)));
            out.add(gatewaySettings(g, r, b).build());
        }
        return out;
    }

    /**
     * A mesh route re-rooted under the gateway prefix: the mesh route matches the path the service
     * sees ({@code rewritePrefix}, else the gateway prefix, plus the rest), so its path match is
     * moved under the gateway prefix and the rewrite keeps giving the service that path. Empty when
     * no request under the prefix can match, and for a {@code pathRegex} behind a rewrite that
     * changes the prefix (a regex over the rewritten path has no equivalent over the original one).
     */
    static Optional<Route.Builder> underPrefix(Route m, String prefix, Optional<String> rewritePrefix) {
        String seen = rewritePrefix.orElse(prefix);
        boolean rewrites = !seen.equals(prefix);
        RouteMatch mm = m.getMatch();
        RouteMatch.Builder match = mm.toBuilder();
        String rewrite = null;
        switch (mm.getPathSpecifierCase()) {
            case PREFIX -> {
                String x = mm.getPrefix();
                if (x.startsWith(seen)) {
                    match.setPrefix(prefix + x.substring(seen.length()));
                    rewrite = x;
                } else if (seen.startsWith(x)) {
                    match.setPrefix(prefix);
                    rewrite = seen;
                } else {
                    return Optional.empty();
                }
            }
            case PATH -> {
                String x = mm.getPath();
                if (!x.startsWith(seen)) {
                    return Optional.empty();
                }
                match.setPath(prefix + x.substring(seen.length()));
                rewrite = x;
            }
            case SAFE_REGEX -> {
                if (rewrites) {
                    return Optional.empty();
                }
                // the regex stays on the path, the gateway prefix becomes a match on :path
                match.addHeaders(HeaderMatcher.newBuilder().setName(":path")
                        .setStringMatch(StringMatcher.newBuilder().setPrefix(prefix)));
            }
            default -> {
                return Optional.empty();
            }
        }
        Route.Builder b = m.toBuilder().setMatch(match);
        if (rewrites && b.hasRoute()) {
            b.getRouteBuilder().setPrefixRewrite(rewrite);
        }
        return Optional.of(b);
    }

    private static Route.Builder gatewaySettings(GatewaySpec g, GatewayRoute r, Route.Builder b) {
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
        return b;
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
