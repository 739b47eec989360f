package dev.trellis.sidecar.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/** An inline {@code route_config}: virtual hosts and their routes. */
public record RouteTable(String name, List<VirtualHost> virtualHosts, HeaderMutation requestHeaders,
                         HeaderMutation responseHeaders) {
    public RouteTable {
        virtualHosts = List.copyOf(virtualHosts);
    }

    /** A virtual host chosen by the request's authority. */
    public record VirtualHost(String name, List<String> domains, List<Route> routes,
                              HeaderMutation requestHeaders, HeaderMutation responseHeaders) {
        public VirtualHost {
            domains = domains.stream().map(d -> d.toLowerCase(java.util.Locale.ROOT)).toList();
            routes = List.copyOf(routes);
        }
    }

    /** One route: a match and what to do. */
    public record Route(String name, Match match, Action action, HeaderMutation requestHeaders,
                        HeaderMutation responseHeaders, Map<String, HttpFilterConfig> perFilterConfig) {
        public Route {
            perFilterConfig = Map.copyOf(perFilterConfig);
        }

        public Route(String name, Match match, Action action, HeaderMutation requestHeaders,
                     HeaderMutation responseHeaders) {
            this(name, match, action, requestHeaders, responseHeaders, Map.of());
        }

        /** The override of filter {@code filterName} on this route ({@code typed_per_filter_config}), if any. */
        public HttpFilterConfig filterConfig(String filterName) {
            return perFilterConfig.get(filterName);
        }
    }

    /** How the path is matched. */
    public enum PathKind { PREFIX, PATH, REGEX }

    /** Envoy's {@code RouteMatch}. */
    public record Match(PathKind pathKind, String path, Optional<Pattern> regex, boolean caseSensitive,
                        List<HeaderMatch> headers, List<QueryMatch> queryParameters, Optional<Boolean> grpc) {
        public Match {
            headers = List.copyOf(headers);
            queryParameters = List.copyOf(queryParameters);
        }
    }

    /** A {@code HeaderMatcher}. */
    public record HeaderMatch(String name, StringMatch value, boolean presentOnly, boolean present, boolean invert) {
        public HeaderMatch {
            name = name.toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A {@code QueryParameterMatcher}: a string match or just presence. */
    public record QueryMatch(String name, Optional<StringMatch> value) {}

    /** What a matched route does. */
    public sealed interface Action permits Forward, DirectResponse, Redirect {}

    /**
     * Proxy to a cluster (or one of weighted clusters). {@code timeout} covers all attempts (zero:
     * none); {@code idleTimeout} overrides the connection manager's stream idle timeout;
     * {@code highPriority} picks the cluster's HIGH circuit breaker thresholds.
     */
    public record Forward(List<WeightedCluster> clusters, Duration timeout, Optional<String> prefixRewrite,
                          Optional<Pattern> regexRewrite, String regexSubstitution,
                          Optional<String> hostRewriteLiteral, boolean autoHostRewrite,
                          List<HashPolicy> hashPolicy, Optional<RetryPolicy> retryPolicy,
                          Optional<Duration> idleTimeout, boolean highPriority) implements Action {
        /** A forward without hash policy, retries, idle timeout override or priority. */
        public Forward(List<WeightedCluster> clusters, Duration timeout, Optional<String> prefixRewrite,
                       Optional<Pattern> regexRewrite, String regexSubstitution,
                       Optional<String> hostRewriteLiteral, boolean autoHostRewrite) {
            this(clusters, timeout, prefixRewrite, regexRewrite, regexSubstitution, hostRewriteLiteral, autoHostRewrite,
                    List.of(), Optional.empty(), Optional.empty(), false);
        }

        public Forward {
            clusters = List.copyOf(clusters);
            hashPolicy = List.copyOf(hashPolicy);
            if (clusters.isEmpty()) {
                throw new ConfigException("route: no cluster (expected: cluster or weighted_clusters)");
            }
            if (timeout.isNegative()) {
                throw new ConfigException("timeout: " + timeout + " (expected: >= 0, 0 meaning none)");
            }
        }
    }

    /** A target cluster with its weight; single-cluster routes hold one with weight 1. */
    public record WeightedCluster(String name, int weight, HeaderMutation requestHeaders,
                                  HeaderMutation responseHeaders) {}

    /** Answer directly. */
    public record DirectResponse(int status, Optional<String> body) implements Action {}

    /** Answer with a redirect. */
    public record Redirect(Optional<String> scheme, Optional<String> host, int port, Optional<String> path,
                           Optional<String> prefixRewrite, int status, boolean stripQuery) implements Action {}
}
