package dev.trellis.controlplane.policy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The validated mesh policy at one revision: typed, immutable specs by name. Built only by
 * {@link PolicyValidator}; the translator reads it to make xDS.
 */
public record MeshPolicy(
        long revision,
        MeshConfig meshConfig,
        Map<String, ServiceSpec> services,
        Map<String, RouteSpec> routes,
        Map<String, AccessPolicySpec> accessPolicies,
        Map<String, GatewaySpec> gateways,
        Map<String, ExternalServiceSpec> externalServices) {

    public static final MeshPolicy EMPTY = new MeshPolicy(0, MeshConfig.DEFAULT, Map.of(), Map.of(), Map.of(), Map.of(), Map.of());

    /** The service's policy, or the mesh defaults when it has none. */
    public ServiceSpec serviceOrDefault(String name) {
        ServiceSpec s = services.get(name);
        return s != null ? s : meshConfig.defaults();
    }

    /** Route documents that apply to {@code service}, by name order. */
    public List<RouteSpec> routesFor(String service) {
        return routes.values().stream().filter(r -> r.service().equals(service))
                .sorted(java.util.Comparator.comparing(RouteSpec::name)).toList();
    }

    public enum Protocol { HTTP, HTTP2, GRPC, TCP }

    public enum LoadBalancer { PEAK_EWMA, ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH }

    public enum TlsMode { STRICT, PERMISSIVE, DISABLE }

    /** Mesh-wide settings; {@code defaults} applies to services without a Service document. */
    public record MeshConfig(String trustDomain, String namespace, Duration certificateTtl, TlsMode tlsMode,
                             ServiceSpec defaults, Telemetry telemetry) {
        public static final MeshConfig DEFAULT = new MeshConfig("trellis.local", "default", Duration.ofHours(24),
                TlsMode.STRICT, ServiceSpec.defaults(""), Telemetry.NONE);

        public MeshConfig(String trustDomain, String namespace, Duration certificateTtl, TlsMode tlsMode,
                          ServiceSpec defaults) {
            this(trustDomain, namespace, certificateTtl, tlsMode, defaults, Telemetry.NONE);
        }
    }

    /**
     * What every sidecar reports: an access log ({@code stdout} or a file path) and tracing to an
     * OTLP collector; both off when empty.
     */
    public record Telemetry(Optional<String> accessLog, Optional<Tracing> tracing) {
        public static final Telemetry NONE = new Telemetry(Optional.empty(), Optional.empty());
    }

    /**
     * Tracing: {@code collector} is {@code host:port} (OTLP/gRPC) or an {@code http(s)://} URL
     * (OTLP/HTTP); new traces are sampled at {@code samplingPercent}, callers' decisions are kept.
     */
    public record Tracing(String collector, double samplingPercent) {}

    public record ServiceSpec(String name, Protocol protocol, LoadBalancer loadBalancer, Duration timeout,
                              Duration connectTimeout, RetryPolicy retries, CircuitBreaker circuitBreaker,
                              Optional<OutlierDetection> outlierDetection, Optional<HealthCheck> healthCheck,
                              Optional<TlsMode> tlsMode) {
        static ServiceSpec defaults(String name) {
            return new ServiceSpec(name, Protocol.HTTP, LoadBalancer.PEAK_EWMA, Duration.ofSeconds(15),
                    Duration.ofSeconds(5), RetryPolicy.DEFAULT, CircuitBreaker.DEFAULT, Optional.empty(),
                    Optional.empty(), Optional.empty());
        }

        ServiceSpec named(String n) {
            return new ServiceSpec(n, protocol, loadBalancer, timeout, connectTimeout, retries, circuitBreaker,
                    outlierDetection, healthCheck, tlsMode);
        }
    }

    /**
     * Retries: {@code attempts} extra tries on {@code retryOn} conditions (Envoy names), fully jittered
     * backoff from {@code backoffBase} to {@code backoffMax}, and a budget of retries as a share of
     * active requests.
     */
    public record RetryPolicy(int attempts, List<String> retryOn, Optional<Duration> perTryTimeout,
                              Duration backoffBase, Duration backoffMax, double budgetPercent, int budgetMinConcurrency) {
        public static final RetryPolicy DEFAULT = new RetryPolicy(2,
                List.of("connect-failure", "refused-stream", "unavailable", "cancelled", "reset"),
                Optional.empty(), Duration.ofMillis(25), Duration.ofMillis(250), 20.0, 3);
    }

    public record CircuitBreaker(int maxConnections, int maxPendingRequests, int maxRequests, int maxRetries) {
        public static final CircuitBreaker DEFAULT = new CircuitBreaker(1024, 1024, 1024, 3);
    }

    public record OutlierDetection(int consecutive5xx, int consecutiveGatewayFailure, Duration interval,
                                   Duration baseEjectionTime, int maxEjectionPercent) {}

    public record HealthCheck(String path, Duration interval, Duration timeout, int healthyThreshold,
                              int unhealthyThreshold) {}

    /** Routing for one destination service: rules tried in order, then the service's default route. */
    public record RouteSpec(String name, String service, List<RouteRule> rules) {}

    public record RouteRule(Match match, List<Destination> destinations, Optional<Duration> timeout,
                            Optional<RetryPolicy> retries, HeaderChanges requestHeaders,
                            HeaderChanges responseHeaders, Optional<Fault> fault) {}

    /** Request match: at most one of path (exact), pathPrefix, pathRegex; header values exact. */
    public record Match(Optional<String> path, Optional<String> pathPrefix, Optional<String> pathRegex,
                        Map<String, String> headers, Optional<String> method) {}

    /** A weighted destination: the rule's service (or {@code service}) narrowed to instances with these labels. */
    public record Destination(String service, Map<String, String> subset, int weight) {}

    public record HeaderChanges(Map<String, String> set, Map<String, String> add, List<String> remove) {
        public static final HeaderChanges NONE = new HeaderChanges(Map.of(), Map.of(), List.of());

        public boolean isEmpty() {
            return set.isEmpty() && add.isEmpty() && remove.isEmpty();
        }
    }

    /** Fault injection: delay and/or abort, each for a percentage of requests. */
    public record Fault(Optional<Duration> delay, double delayPercent, int abortStatus, double abortPercent) {}

    public enum Action { ALLOW, DENY }

    /** Who may call service {@code name}; enforced by the inbound sidecar (identity work). */
    public record AccessPolicySpec(String name, Action defaultAction, List<AccessRule> rules) {}

    public record AccessRule(Action action, List<String> from, List<String> methods, List<String> paths) {}

    /**
     * An ingress gateway's listeners and routes into the mesh: HTTPS on {@code port} (with {@code tls};
     * the gateway's --tls-cert/--tls-key override the files), optionally plain HTTP on
     * {@code httpPort} that redirects to HTTPS or serves the same routes; JWT, rate limit, CORS and
     * body limits per {@link GatewayRoute}.
     */
    public record GatewaySpec(String name, int port, List<String> hosts, Optional<GatewayTls> tls,
                              List<GatewayRoute> routes, Optional<Jwt> jwt, Optional<RateLimit> rateLimit,
                              Optional<Integer> httpPort, HttpMode httpMode, long maxRequestBytes, int xffTrustedHops) {}

    /** What the plain HTTP listener does. */
    public enum HttpMode { REDIRECT, SERVE }

    public record GatewayTls(String certFile, String keyFile) {}

    /**
     * A route by host(s) and path prefix to a mesh service; {@code requireScopes} implies a JWT;
     * {@code rateLimit} and {@code cors} apply to this route only.
     */
    public record GatewayRoute(String pathPrefix, String service, Optional<String> rewritePrefix,
                               Optional<Duration> timeout, boolean requireJwt, List<String> hosts,
                               List<String> requireScopes, Optional<RateLimit> rateLimit, Optional<Cors> cors) {}

    /**
     * A JWT provider: tokens of {@code issuer} for {@code audiences}, keys from {@code jwksFile} or
     * {@code jwksUri} (HTTPS; {@code jwksCaFile} to trust its server), cached for {@code jwksCacheDuration},
     * refetched for an unknown kid at most every {@code jwksRefetchInterval}. Claims go to headers per
     * {@code claimHeaders} (header -> claim; x-jwt-sub: sub by default); the token is forwarded when {@code forward}.
     */
    public record Jwt(String issuer, List<String> audiences, Optional<String> jwksFile, Optional<String> jwksUri,
                      Optional<String> jwksCaFile, Duration jwksCacheDuration, Duration jwksRefetchInterval,
                      Map<String, String> claimHeaders, boolean forward, int clockSkewSeconds) {}

    /** Token bucket: {@code burst} tokens, refilled at {@code requestsPerSecond}, one bucket per {@code key}. */
    public record RateLimit(int requestsPerSecond, int burst, RateLimitKey key, Optional<String> header) {}

    /** What a rate limit bucket is keyed by. */
    public enum RateLimitKey { CLIENT_IP, JWT_SUBJECT, HEADER, GLOBAL }

    /** CORS for a route: allowed origins (exact, or "*"), methods, headers, exposed headers, max age. */
    public record Cors(List<String> allowOrigins, List<String> allowMethods, List<String> allowHeaders,
                       List<String> exposeHeaders, Optional<Duration> maxAge, boolean allowCredentials) {}

    /** A service outside the mesh, reached through the sidecar by name. */
    public record ExternalServiceSpec(String name, Protocol protocol, List<ExternalEndpoint> endpoints,
                                      Optional<ExternalTls> tls, Duration connectTimeout, Duration timeout) {}

    public record ExternalEndpoint(String host, int port) {}

    public record ExternalTls(String sni, Optional<String> caFile) {}
}
