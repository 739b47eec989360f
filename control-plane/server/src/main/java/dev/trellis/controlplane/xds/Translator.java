package dev.trellis.controlplane.xds;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.MeshPolicy.TlsMode;
import dev.trellis.controlplane.policy.MeshPolicy.Destination;
import dev.trellis.controlplane.policy.MeshPolicy.ExternalServiceSpec;
import dev.trellis.controlplane.policy.MeshPolicy.HeaderChanges;
import dev.trellis.controlplane.policy.MeshPolicy.RetryPolicy;
import dev.trellis.controlplane.policy.MeshPolicy.RouteRule;
import dev.trellis.controlplane.policy.MeshPolicy.RouteSpec;
import dev.trellis.controlplane.policy.MeshPolicy.ServiceSpec;
import dev.trellis.controlplane.registry.ServiceInstance;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.LoadBalancingPolicy;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.envoyproxy.envoy.type.v3.Percent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Compiles registry + policy into the xDS resources of one proxy (see README "Mesh policy" ->
 * "What a sidecar receives" for the names and shapes). Pure: same inputs, equal outputs.
 */
public final class Translator {
    public static final String OUTBOUND = "outbound";
    public static final String INBOUND = "inbound";
    /** Name of the typed extension that selects Trellis' peak-EWMA load balancer. */
    public static final String PEAK_EWMA = "trellis.load_balancing_policies.peak_ewma";
    public static final String PEAK_EWMA_TYPE_URL = "type.googleapis.com/trellis.load_balancing_policies.v1.PeakEwma";
    public static final String HCM = "envoy.filters.network.http_connection_manager";
    public static final String ROUTER = "envoy.filters.http.router";
    public static final String FAULT = "envoy.filters.http.fault";
    static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    /** Endpoint metadata namespace carrying instance id, service and labels. */
    public static final String METADATA = "trellis";
    private static final Set<String> GRPC_RETRY_ON = Set.of("cancelled", "deadline-exceeded", "internal",
            "resource-exhausted", "unavailable");
    private static final ConfigSource ADS = ConfigSource.newBuilder()
            .setAds(AggregatedConfigSource.getDefaultInstance()).setResourceApiVersion(ApiVersion.V3).build();

    private Translator() {}

    /** {@code outbound|<service>} or {@code outbound|<service>|k=v,k2=v2} for a subset. */
    public static String clusterName(String service, Map<String, String> subset) {
        if (subset.isEmpty()) return OUTBOUND + "|" + service;
        return OUTBOUND + "|" + service + "|" + new TreeMap<>(subset).entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
    }

    public static String inboundClusterName(String service) {
        return INBOUND + "|" + service;
    }

    /** {@code inbound|<service>|grpc}: the app's gRPC port, for an instance registered with {@code app_grpc_port}. */
    public static String inboundGrpcClusterName(String service) {
        return INBOUND + "|" + service + "|grpc";
    }

    /**
     * Resources for {@code node}. {@code self} is its registered instance (null if none);
     * {@code instances} are all registered instances by service.
     */
    public static XdsResources translate(ProxyNode node, ServiceInstance self, MeshPolicy policy,
                                         Map<String, List<ServiceInstance>> instances) {
        if (node.type() == ProxyNode.Type.GATEWAY) {
            return GatewayTranslator.resources(node, outbound(GatewayTranslator.outboundKey(node, policy), policy, instances), policy);
        }
        return merge(outbound(OutboundKey.of(node, self), policy, instances), inbound(node, self, policy));
    }

    /**
     * What decides a proxy's outbound resources: many proxies share one key (and so one
     * translation per push).
     */
    public record OutboundKey(boolean proxyless, List<String> declared, int outboundPort) {
        public static OutboundKey of(ProxyNode node, ServiceInstance self) {
            boolean proxyless = node.type() == ProxyNode.Type.PROXYLESS;
            List<String> declared = self != null && !self.upstreams().isEmpty() ? self.upstreams() : node.upstreams();
            return new OutboundKey(proxyless, List.copyOf(new TreeSet<>(declared)), proxyless ? 0 : node.outboundPort());
        }
    }

    /** Everything a proxy with {@code key} needs to call its upstreams. */
    public static XdsResources outbound(OutboundKey key, MeshPolicy policy, Map<String, List<ServiceInstance>> instances) {
        boolean proxyless = key.proxyless();
        Set<String> scope = scope(key.declared(), policy, instances);

        Map<String, Listener> listeners = new TreeMap<>();
        Map<String, RouteConfiguration> routes = new TreeMap<>();
        Map<String, Cluster> clusters = new TreeMap<>();
        Map<String, ClusterLoadAssignment> endpoints = new TreeMap<>();

        List<VirtualHost> vhosts = new ArrayList<>();
        boolean anyFault = false;
        for (String svc : scope) {
            ExternalServiceSpec ext = policy.externalServices().get(svc);
            if (ext != null) {
                if (proxyless) continue; // DNS clusters are not for grpc-java's xds client
                clusters.put(clusterName(svc, Map.of()), externalCluster(ext));
                vhosts.add(externalVirtualHost(ext));
                continue;
            }
            ServiceSpec spec = policy.serviceOrDefault(svc);
            List<RouteSpec> rs = policy.routesFor(svc);
            Set<String> clusterNames = new TreeSet<>();
            List<Route> routeList = new ArrayList<>();
            for (RouteSpec r : rs) {
                for (RouteRule rule : r.rules()) {
                    routeList.add(route(rule, spec, svc, proxyless, clusterNames));
                    anyFault |= rule.fault().isPresent();
                }
            }
            routeList.add(defaultRoute(spec, svc, proxyless));
            // destinations may reach other services and subsets: each gets its own EDS cluster
            for (RouteSpec r : rs) {
                for (RouteRule rule : r.rules()) {
                    for (Destination d : rule.destinations()) {
                        addCluster(d.service(), d.subset(), policy, instances, proxyless, clusters, endpoints);
                    }
                }
            }
            addCluster(svc, Map.of(), policy, instances, proxyless, clusters, endpoints);
            VirtualHost vh = VirtualHost.newBuilder().setName(svc)
                    .addAllDomains(proxyless ? List.of(svc) : List.of(svc, svc + ":*"))
                    .addAllRoutes(routeList).build();
            if (proxyless) {
                RouteConfiguration rc = RouteConfiguration.newBuilder().setName(svc).addVirtualHosts(vh).build();
                routes.put(svc, rc);
                listeners.put(svc, apiListener(svc));
            } else {
                vhosts.add(vh);
            }
        }
        if (!proxyless) {
            routes.put(OUTBOUND, RouteConfiguration.newBuilder().setName(OUTBOUND).addAllVirtualHosts(vhosts).build());
            listeners.put(OUTBOUND, outboundListener(key.outboundPort(), anyFault, policy.meshConfig().telemetry()));
        }
        return new XdsResources(listeners, routes, clusters, endpoints);
    }

    /** The inbound listener and cluster of a registered sidecar with an app port; empty otherwise. */
    public static XdsResources inbound(ProxyNode node, ServiceInstance self, MeshPolicy policy) {
        int appPort = self != null && self.appPort() > 0 ? self.appPort() : node.appPort();
        if (node.type() != ProxyNode.Type.SIDECAR || appPort <= 0) {
            return new XdsResources(Map.of(), Map.of(), Map.of(), Map.of());
        }
        String svc = node.service();
        int inboundPort = self != null ? self.inboundPort() : node.inboundPort();
        String protocol = self != null ? self.protocol() : policy.serviceOrDefault(svc).protocol().name();
        int grpcPort = self != null && !"tcp".equalsIgnoreCase(protocol) ? self.appGrpcPort() : 0;
        Map<String, Cluster> clusters = new TreeMap<>();
        clusters.put(inboundClusterName(svc), inboundCluster(inboundClusterName(svc), appPort, protocol));
        if (grpcPort > 0) {
            clusters.put(inboundGrpcClusterName(svc), inboundCluster(inboundGrpcClusterName(svc), grpcPort, "grpc"));
        }
        return new XdsResources(Map.of(INBOUND, inboundListener(svc, inboundPort, protocol, grpcPort > 0,
                AccessPolicies.filters(svc, policy), InboundTls.mode(svc, policy), policy.meshConfig().telemetry())), Map.of(),
                clusters, Map.of());
    }

    /** Both sets of resources in one (names never overlap: inbound ones are prefixed {@code inbound}). */
    public static XdsResources merge(XdsResources a, XdsResources b) {
        if (b.listeners().isEmpty() && b.routes().isEmpty() && b.clusters().isEmpty() && b.endpoints().isEmpty()) {
            return a;
        }
        return new XdsResources(union(a.listeners(), b.listeners()), union(a.routes(), b.routes()),
                union(a.clusters(), b.clusters()), union(a.endpoints(), b.endpoints()));
    }

    private static <T> Map<String, T> union(Map<String, T> a, Map<String, T> b) {
        if (b.isEmpty()) return a;
        Map<String, T> m = new TreeMap<>(a);
        m.putAll(b);
        return m;
    }

    private static Set<String> scope(List<String> declared, MeshPolicy policy,
                                     Map<String, List<ServiceInstance>> instances) {
        Set<String> scope = new TreeSet<>();
        if (declared.isEmpty()) {
            scope.addAll(instances.keySet());
            scope.addAll(policy.services().keySet());
            scope.addAll(policy.externalServices().keySet());
        } else {
            scope.addAll(declared);
        }
        return scope;
    }

    private static void addCluster(String svc, Map<String, String> subset, MeshPolicy policy,
                                   Map<String, List<ServiceInstance>> instances, boolean proxyless,
                                   Map<String, Cluster> clusters, Map<String, ClusterLoadAssignment> endpoints) {
        String name = clusterName(svc, subset);
        if (clusters.containsKey(name)) return;
        ServiceSpec spec = policy.serviceOrDefault(svc);
        List<ServiceInstance> all = instances.getOrDefault(svc, List.of());
        Cluster cluster = edsCluster(name, spec, proxyless);
        if (!proxyless && spec.protocol() == MeshPolicy.Protocol.HTTP
                && (all.isEmpty() || all.stream().anyMatch(i -> i.appPort() > 0))) {
            // sidecar to sidecar: each request keeps its caller's protocol, so gRPC (HTTP/2) stays HTTP/2
            // across the hop while HTTP/1 stays HTTP/1 (Envoy's use_downstream_protocol_config, as Istio does)
            cluster = cluster.toBuilder().putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS,
                    Any.pack(HttpProtocolOptions.newBuilder().setUseDownstreamProtocolConfig(
                            HttpProtocolOptions.UseDownstreamHttpConfig.newBuilder()
                                    .setHttpProtocolOptions(io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions.getDefaultInstance())
                                    .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance())).build())).build();
        }
        if (!proxyless && UpstreamMtls.applies(svc, policy, all)) {
            cluster = cluster.toBuilder().setTransportSocket(UpstreamMtls.transportSocket(UpstreamMtls.spiffeId(policy, svc))).build();
        }
        clusters.put(name, cluster);
        List<ServiceInstance> members = instances.getOrDefault(svc, List.of()).stream()
                .filter(ServiceInstance::routable)
                .filter(i -> i.labels().entrySet().containsAll(subset.entrySet()))
                .toList();
        endpoints.put(name, loadAssignment(name, members));
    }

    static ClusterLoadAssignment loadAssignment(String name, Collection<ServiceInstance> members) {
        Map<String, List<ServiceInstance>> byZone = new TreeMap<>();
        for (ServiceInstance i : members) {
            byZone.computeIfAbsent(i.labels().getOrDefault("zone", ""), k -> new ArrayList<>()).add(i);
        }
        ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(name);
        for (Map.Entry<String, List<ServiceInstance>> z : byZone.entrySet()) {
            LocalityLbEndpoints.Builder loc = LocalityLbEndpoints.newBuilder()
                    .setLocality(Locality.newBuilder().setRegion(z.getValue().get(0).labels().getOrDefault("region", ""))
                            .setZone(z.getKey()))
                    .setLoadBalancingWeight(UInt32Value.of(1));
            z.getValue().stream().sorted(java.util.Comparator.comparing(ServiceInstance::instanceId)).forEach(i -> {
                Struct.Builder md = Struct.newBuilder()
                        .putFields("instance_id", str(i.instanceId()))
                        .putFields("service", str(i.service()));
                new TreeMap<>(i.labels()).forEach((k, v) -> md.putFields("label." + k, str(v)));
                loc.addLbEndpoints(LbEndpoint.newBuilder()
                        .setEndpoint(Endpoint.newBuilder().setAddress(address(i.address(), i.inboundPort())))
                        .setHealthStatus(HealthStatus.HEALTHY)
                        .setLoadBalancingWeight(UInt32Value.of(1))
                        .setMetadata(Metadata.newBuilder().putFilterMetadata(METADATA, md.build())));
            });
            cla.addEndpoints(loc);
        }
        return cla.build();
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    static Address address(String host, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port)).build();
    }

    static com.google.protobuf.Duration pb(Duration d) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
    }

    private static Cluster edsCluster(String name, ServiceSpec spec, boolean proxyless) {
        Cluster.Builder c = Cluster.newBuilder().setName(name)
                .setType(Cluster.DiscoveryType.EDS)
                .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
                .setConnectTimeout(pb(spec.connectTimeout()));
        var cb = spec.circuitBreaker();
        CircuitBreakers.Thresholds.Builder th = CircuitBreakers.Thresholds.newBuilder()
                .setMaxConnections(UInt32Value.of(cb.maxConnections()))
                .setMaxPendingRequests(UInt32Value.of(cb.maxPendingRequests()))
                .setMaxRequests(UInt32Value.of(cb.maxRequests()))
                .setMaxRetries(UInt32Value.of(cb.maxRetries()));
        if (proxyless) {
            c.setLbPolicy(spec.loadBalancer() == MeshPolicy.LoadBalancer.RING_HASH
                    ? Cluster.LbPolicy.RING_HASH : Cluster.LbPolicy.ROUND_ROBIN);
            c.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(th));
            return c.build();
        }
        th.setRetryBudget(CircuitBreakers.Thresholds.RetryBudget.newBuilder()
                .setBudgetPercent(Percent.newBuilder().setValue(spec.retries().budgetPercent()))
                .setMinRetryConcurrency(UInt32Value.of(spec.retries().budgetMinConcurrency())));
        c.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(th));
        switch (spec.loadBalancer()) {
            case PEAK_EWMA -> c.setLoadBalancingPolicy(LoadBalancingPolicy.newBuilder()
                    .addPolicies(LoadBalancingPolicy.Policy.newBuilder().setTypedExtensionConfig(
                            TypedExtensionConfig.newBuilder().setName(PEAK_EWMA).setTypedConfig(Any.pack(
                                    TypedStruct.newBuilder().setTypeUrl(PEAK_EWMA_TYPE_URL).build()))))
                    // fallback for clients without peak EWMA: power of two choices on active requests
                    .addPolicies(LoadBalancingPolicy.Policy.newBuilder().setTypedExtensionConfig(
                            TypedExtensionConfig.newBuilder().setName("envoy.load_balancing_policies.least_request")
                                    .setTypedConfig(Any.pack(LeastRequest.newBuilder()
                                            .setChoiceCount(UInt32Value.of(2)).build())))));
            case ROUND_ROBIN -> c.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
            case LEAST_REQUEST -> c.setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST);
            case RANDOM -> c.setLbPolicy(Cluster.LbPolicy.RANDOM);
            case RING_HASH -> c.setLbPolicy(Cluster.LbPolicy.RING_HASH);
        }
        spec.outlierDetection().ifPresent(od -> c.setOutlierDetection(OutlierDetection.newBuilder()
                .setConsecutive5Xx(UInt32Value.of(od.consecutive5xx()))
                .setConsecutiveGatewayFailure(UInt32Value.of(od.consecutiveGatewayFailure()))
                .setInterval(pb(od.interval()))
                .setBaseEjectionTime(pb(od.baseEjectionTime()))
                .setMaxEjectionPercent(UInt32Value.of(od.maxEjectionPercent()))));
        spec.healthCheck().ifPresent(hc -> c.addHealthChecks(HealthCheck.newBuilder()
                .setInterval(pb(hc.interval()))
                .setTimeout(pb(hc.timeout()))
                .setHealthyThreshold(UInt32Value.of(hc.healthyThreshold()))
                .setUnhealthyThreshold(UInt32Value.of(hc.unhealthyThreshold()))
                .setHttpHealthCheck(HealthCheck.HttpHealthCheck.newBuilder().setPath(hc.path()))));
        if (spec.protocol() == MeshPolicy.Protocol.HTTP2 || spec.protocol() == MeshPolicy.Protocol.GRPC) {
            c.putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    Any.pack(HttpProtocolOptions.newBuilder().setExplicitHttpConfig(
                            HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                                    .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance())).build()));
        }
        c.setMetadata(Metadata.newBuilder().putFilterMetadata(METADATA, Struct.newBuilder()
                .putFields("service", str(spec.name().isEmpty() ? name.split("\\|")[1] : spec.name()))
                .putFields("protocol", str(spec.protocol().name().toLowerCase(java.util.Locale.ROOT)))
                .build()));
        return c.build();
    }

    private static Cluster externalCluster(ExternalServiceSpec ext) {
        String name = clusterName(ext.name(), Map.of());
        ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(name);
        LocalityLbEndpoints.Builder loc = LocalityLbEndpoints.newBuilder().setLoadBalancingWeight(UInt32Value.of(1));
        ext.endpoints().forEach(e -> loc.addLbEndpoints(LbEndpoint.newBuilder()
                .setEndpoint(Endpoint.newBuilder().setAddress(address(e.host(), e.port())))));
        cla.addEndpoints(loc);
        Cluster.Builder c = Cluster.newBuilder().setName(name)
                .setType(Cluster.DiscoveryType.STRICT_DNS)
                .setConnectTimeout(pb(ext.connectTimeout()))
                .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
                .setLoadAssignment(cla);
        ext.tls().ifPresent(tls -> {
            UpstreamTlsContext.Builder t = UpstreamTlsContext.newBuilder().setSni(tls.sni());
            tls.caFile().ifPresent(ca -> t.setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(
                    CertificateValidationContext.newBuilder().setTrustedCa(DataSource.newBuilder().setFilename(ca)))));
            c.setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                    .setTypedConfig(Any.pack(t.build())));
        });
        if (ext.protocol() == MeshPolicy.Protocol.HTTP2 || ext.protocol() == MeshPolicy.Protocol.GRPC) {
            c.putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    Any.pack(HttpProtocolOptions.newBuilder().setExplicitHttpConfig(
                            HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                                    .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance())).build()));
        }
        return c.build();
    }

    private static VirtualHost externalVirtualHost(ExternalServiceSpec ext) {
        Set<String> domains = new TreeSet<>();
        domains.add(ext.name());
        domains.add(ext.name() + ":*");
        ext.endpoints().forEach(e -> {
            domains.add(e.host());
            domains.add(e.host() + ":" + e.port());
        });
        return VirtualHost.newBuilder().setName(ext.name()).addAllDomains(domains)
                .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRoute(RouteAction.newBuilder().setCluster(clusterName(ext.name(), Map.of()))
                                .setTimeout(pb(ext.timeout()))))
                .build();
    }

    private static Route defaultRoute(ServiceSpec spec, String svc, boolean proxyless) {
        RouteAction.Builder a = RouteAction.newBuilder().setCluster(clusterName(svc, Map.of()));
        timeoutAndRetries(a, spec.timeout(), spec.retries(), proxyless);
        return Route.newBuilder().setName(svc + "/default")
                .setMatch(RouteMatch.newBuilder().setPrefix(proxyless ? "" : "/")).setRoute(a).build();
    }

    static void timeoutAndRetries(RouteAction.Builder a, Duration timeout, RetryPolicy retries, boolean proxyless) {
        if (proxyless) {
            a.setMaxStreamDuration(RouteAction.MaxStreamDuration.newBuilder().setMaxStreamDuration(pb(timeout)));
            List<String> on = retries.retryOn().stream().filter(GRPC_RETRY_ON::contains).toList();
            if (retries.attempts() > 0 && !on.isEmpty()) {
                a.setRetryPolicy(retryPolicy(retries, on));
            }
        } else {
            a.setTimeout(pb(timeout));
            if (retries.attempts() > 0 && !retries.retryOn().isEmpty()) {
                a.setRetryPolicy(retryPolicy(retries, retries.retryOn()));
            }
        }
    }

    private static io.envoyproxy.envoy.config.route.v3.RetryPolicy retryPolicy(RetryPolicy r, List<String> on) {
        var b = io.envoyproxy.envoy.config.route.v3.RetryPolicy.newBuilder()
                .setRetryOn(String.join(",", on))
                .setNumRetries(UInt32Value.of(r.attempts()))
                .setRetryBackOff(io.envoyproxy.envoy.config.route.v3.RetryPolicy.RetryBackOff.newBuilder()
                        .setBaseInterval(pb(r.backoffBase())).setMaxInterval(pb(r.backoffMax())));
        r.perTryTimeout().ifPresent(t -> b.setPerTryTimeout(pb(t)));
        return b.build();
    }

    private static Route route(RouteRule rule, ServiceSpec spec, String svc, boolean proxyless, Set<String> clusterNames) {
        RouteMatch.Builder m = RouteMatch.newBuilder();
        var match = rule.match();
        if (match.path().isPresent()) m.setPath(match.path().get());
        else if (match.pathRegex().isPresent()) m.setSafeRegex(RegexMatcher.newBuilder().setRegex(match.pathRegex().get()));
        else m.setPrefix(match.pathPrefix().orElse("/"));
        new TreeMap<>(match.headers()).forEach((k, v) -> m.addHeaders(HeaderMatcher.newBuilder().setName(k)
                .setStringMatch(StringMatcher.newBuilder().setExact(v))));
        if (!proxyless) {
            match.method().ifPresent(meth -> m.addHeaders(HeaderMatcher.newBuilder().setName(":method")
                    .setStringMatch(StringMatcher.newBuilder().setExact(meth))));
        }
        RouteAction.Builder a = RouteAction.newBuilder();
        List<Destination> dests = rule.destinations().stream().filter(d -> d.weight() > 0).toList();
        if (dests.size() == 1) {
            a.setCluster(clusterName(dests.get(0).service(), dests.get(0).subset()));
        } else {
            WeightedCluster.Builder wc = WeightedCluster.newBuilder();
            for (Destination d : dests) {
                wc.addClusters(WeightedCluster.ClusterWeight.newBuilder()
                        .setName(clusterName(d.service(), d.subset())).setWeight(UInt32Value.of(d.weight())));
            }
            a.setWeightedClusters(wc);
        }
        dests.forEach(d -> clusterNames.add(clusterName(d.service(), d.subset())));
        timeoutAndRetries(a, rule.timeout().orElse(spec.timeout()), rule.retries().orElse(spec.retries()), proxyless);
        Route.Builder r = Route.newBuilder().setMatch(m).setRoute(a);
        if (!proxyless) {
            headers(rule.requestHeaders(), r, true);
            headers(rule.responseHeaders(), r, false);
            rule.fault().ifPresent(f -> {
                HTTPFault.Builder hf = HTTPFault.newBuilder();
                f.delay().ifPresent(d -> hf.setDelay(FaultDelay.newBuilder().setFixedDelay(pb(d))
                        .setPercentage(percent(f.delayPercent()))));
                if (f.abortStatus() > 0) {
                    hf.setAbort(FaultAbort.newBuilder().setHttpStatus(f.abortStatus()).setPercentage(percent(f.abortPercent())));
                }
                r.putTypedPerFilterConfig(FAULT, Any.pack(hf.build()));
            });
        }
        return r.build();
    }

    private static FractionalPercent percent(double p) {
        return FractionalPercent.newBuilder().setNumerator((int) Math.round(p * 10_000))
                .setDenominator(FractionalPercent.DenominatorType.MILLION).build();
    }

    private static void headers(HeaderChanges h, Route.Builder r, boolean request) {
        List<HeaderValueOption> add = new ArrayList<>();
        new TreeMap<>(h.set()).forEach((k, v) -> add.add(HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey(k).setValue(v))
                .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD).build()));
        new TreeMap<>(h.add()).forEach((k, v) -> add.add(HeaderValueOption.newBuilder()
                .setHeader(HeaderValue.newBuilder().setKey(k).setValue(v))
                .setAppendAction(HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD).build()));
        if (request) {
            r.addAllRequestHeadersToAdd(add).addAllRequestHeadersToRemove(h.remove());
        } else {
            r.addAllResponseHeadersToAdd(add).addAllResponseHeadersToRemove(h.remove());
        }
    }

    /** MeshConfig's access log and tracing as Envoy's HCM {@code access_log} and {@code tracing}. */
    static void telemetry(HttpConnectionManager.Builder hcm, MeshPolicy.Telemetry t) {
        t.accessLog().ifPresent(log -> hcm.addAccessLog(log.equals("stdout")
                ? io.envoyproxy.envoy.config.accesslog.v3.AccessLog.newBuilder().setName("envoy.access_loggers.stdout")
                        .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                                .getDefaultInstance())).build()
                : io.envoyproxy.envoy.config.accesslog.v3.AccessLog.newBuilder().setName("envoy.access_loggers.file")
                        .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog
                                .newBuilder().setPath(log).build())).build()));
        t.tracing().ifPresent(tr -> {
            var otel = io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.newBuilder();
            if (tr.collector().startsWith("http://") || tr.collector().startsWith("https://")) {
                otel.setHttpService(io.envoyproxy.envoy.config.core.v3.HttpService.newBuilder().setHttpUri(
                        io.envoyproxy.envoy.config.core.v3.HttpUri.newBuilder().setUri(tr.collector())
                                .setCluster("otel-collector").setTimeout(pb(Duration.ofSeconds(5)))));
            } else {
                otel.setGrpcService(io.envoyproxy.envoy.config.core.v3.GrpcService.newBuilder()
                        .setGoogleGrpc(io.envoyproxy.envoy.config.core.v3.GrpcService.GoogleGrpc.newBuilder()
                                .setTargetUri(tr.collector()).setStatPrefix("otel"))
                        .setTimeout(pb(Duration.ofSeconds(5))));
            }
            hcm.setTracing(HttpConnectionManager.Tracing.newBuilder()
                    .setRandomSampling(io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(tr.samplingPercent()))
                    .setProvider(io.envoyproxy.envoy.config.trace.v3.Tracing.Http.newBuilder()
                            .setName("envoy.tracers.opentelemetry").setTypedConfig(Any.pack(otel.build()))));
        });
    }

    static HttpFilter routerFilter() {
        return HttpFilter.newBuilder().setName(ROUTER).setTypedConfig(Any.pack(Router.getDefaultInstance())).build();
    }

    private static Listener apiListener(String svc) {
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder()
                .setStatPrefix(svc)
                .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(svc))
                .addHttpFilters(routerFilter())
                .build();
        return Listener.newBuilder().setName(svc)
                .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm))).build();
    }

    private static Listener outboundListener(int port, boolean fault, MeshPolicy.Telemetry telemetry) {
        HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder()
                .setStatPrefix("outbound_http")
                .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(OUTBOUND));
        if (fault) {
            hcm.addHttpFilters(HttpFilter.newBuilder().setName(FAULT).setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())));
        }
        hcm.addHttpFilters(routerFilter());
        telemetry(hcm, telemetry);
        return Listener.newBuilder().setName(OUTBOUND)
                .setAddress(address("127.0.0.1", port))
                .setTrafficDirection(TrafficDirection.OUTBOUND)
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(HCM)
                        .setTypedConfig(Any.pack(hcm.build()))))
                .build();
    }

    private static Listener inboundListener(String svc, int port, String protocol, boolean grpcPort, List<HttpFilter> rbac,
                                            TlsMode tlsMode, MeshPolicy.Telemetry telemetry) {
        Filter filter;
        if ("tcp".equalsIgnoreCase(protocol)) {
            filter = Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(
                    TcpProxy.newBuilder().setStatPrefix("inbound_tcp").setCluster(inboundClusterName(svc)).build())).build();
        } else {
            VirtualHost.Builder vh = VirtualHost.newBuilder().setName(INBOUND).addDomains("*");
            if (grpcPort) {
                // gRPC (content-type application/grpc...) to the app's gRPC port, everything else to its app port
                vh.addRoutes(Route.newBuilder().setName(INBOUND + "/grpc")
                        .setMatch(RouteMatch.newBuilder().setPrefix("/")
                                .setGrpc(RouteMatch.GrpcRouteMatchOptions.getDefaultInstance()))
                        .setRoute(RouteAction.newBuilder().setCluster(inboundGrpcClusterName(svc)).setTimeout(pb(Duration.ZERO))));
            }
            vh.addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                    .setRoute(RouteAction.newBuilder().setCluster(inboundClusterName(svc))
                            // the caller's sidecar enforces the route timeout
                            .setTimeout(pb(Duration.ZERO))));
            RouteConfiguration rc = RouteConfiguration.newBuilder().setName(INBOUND).addVirtualHosts(vh).build();
            HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder()
                    .setStatPrefix("inbound_http").setRouteConfig(rc).addAllHttpFilters(rbac)
                    .addHttpFilters(routerFilter());
            telemetry(hcm, telemetry);
            filter = Filter.newBuilder().setName(HCM).setTypedConfig(Any.pack(hcm.build())).build();
        }
        return InboundTls.chains(Listener.newBuilder().setName(INBOUND)
                .setAddress(address("0.0.0.0", port))
                .setTrafficDirection(TrafficDirection.INBOUND), filter, tlsMode, Optional.of(InboundTls.meshTransportSocket()))
                .build();
    }

    private static Cluster inboundCluster(String name, int appPort, String protocol) {
        Cluster.Builder c = Cluster.newBuilder().setName(name)
                .setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(pb(Duration.ofSeconds(5)))
                .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name)
                        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                .setEndpoint(Endpoint.newBuilder().setAddress(address("127.0.0.1", appPort))))));
        if ("http2".equalsIgnoreCase(protocol) || "grpc".equalsIgnoreCase(protocol)) {
            c.putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    Any.pack(HttpProtocolOptions.newBuilder().setExplicitHttpConfig(
                            HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                                    .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance())).build()));
        }
        return c.build();
    }
}
