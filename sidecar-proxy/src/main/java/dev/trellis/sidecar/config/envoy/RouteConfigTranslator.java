package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HeaderMutation;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.StringMatch;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** {@code RouteConfiguration} (inline in a bootstrap, or from RDS later) to {@link RouteTable}. */
public final class RouteConfigTranslator {
    /** Envoy's default route timeout. */
    public static final Duration DEFAULT_ROUTE_TIMEOUT = Duration.ofSeconds(15);
    private static final String[] HEADER_FIELDS = {"request_headers_to_add", "request_headers_to_remove",
            "response_headers_to_add", "response_headers_to_remove"};

    private RouteConfigTranslator() {}

    public static RouteTable translate(RouteConfiguration rc, String path) {
        Fields.allowOnly(rc, path, with("name", "virtual_hosts"));
        List<RouteTable.VirtualHost> vhosts = new ArrayList<>();
        for (int i = 0; i < rc.getVirtualHostsCount(); i++) {
            vhosts.add(virtualHost(rc.getVirtualHosts(i), path + ".virtual_hosts[" + i + "]"));
        }
        return new RouteTable(rc.getName(), vhosts,
                mutation(rc.getRequestHeadersToAddList(), rc.getRequestHeadersToRemoveList(), path + ".request_headers_to_add"),
                mutation(rc.getResponseHeadersToAddList(), rc.getResponseHeadersToRemoveList(), path + ".response_headers_to_add"));
    }

    private static String[] with(String... names) {
        String[] all = new String[names.length + HEADER_FIELDS.length];
        System.arraycopy(names, 0, all, 0, names.length);
        System.arraycopy(HEADER_FIELDS, 0, all, names.length, HEADER_FIELDS.length);
        return all;
    }

    private static RouteTable.VirtualHost virtualHost(VirtualHost vh, String path) {
        Fields.allowOnly(vh, path, with("name", "domains", "routes"));
        if (vh.getDomainsCount() == 0) {
            throw new ConfigException(path + ".domains: empty (expected: at least one domain)");
        }
        for (int i = 0; i < vh.getDomainsCount(); i++) {
            String d = vh.getDomains(i);
            long stars = d.chars().filter(c -> c == '*').count();
            boolean ok = d.equals("*") || stars == 0
                    || (stars == 1 && (d.startsWith("*") || d.endsWith("*")));
            if (!ok || d.isEmpty()) {
                throw Fields.invalid(path + ".domains[" + i + "]", "'" + d + "'",
                        "an exact host, *.suffix, prefix* or *");
            }
        }
        List<RouteTable.Route> routes = new ArrayList<>();
        for (int i = 0; i < vh.getRoutesCount(); i++) {
            routes.add(route(vh.getRoutes(i), path + ".routes[" + i + "]"));
        }
        return new RouteTable.VirtualHost(vh.getName(), vh.getDomainsList(), routes,
                mutation(vh.getRequestHeadersToAddList(), vh.getRequestHeadersToRemoveList(), path + ".request_headers_to_add"),
                mutation(vh.getResponseHeadersToAddList(), vh.getResponseHeadersToRemoveList(), path + ".response_headers_to_add"));
    }

    private static RouteTable.Route route(Route r, String path) {
        Fields.allowOnly(r, path, with("name", "match", "route", "direct_response", "redirect", "metadata",
                "typed_per_filter_config"));
        java.util.Map<String, dev.trellis.sidecar.config.HttpFilterConfig> perFilter = new java.util.LinkedHashMap<>(
                HttpFilterTranslator.perRoute(r.getTypedPerFilterConfigMap(), path + ".typed_per_filter_config"));
        var claimsMeta = r.getMetadata().getFilterMetadataMap().get(dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.RouteClaims.KEY);
        if (claimsMeta != null) {
            HttpFilterTranslator.routeClaims(claimsMeta, path + ".metadata.filter_metadata["
                    + dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.RouteClaims.KEY + "]").ifPresent(c -> perFilter.put(c.name(), c));
        }
        RouteTable.Match match = match(r.getMatch(), path + ".match");
        RouteTable.Action action = switch (r.getActionCase()) {
            case ROUTE -> forward(r.getRoute(), path + ".route");
            case DIRECT_RESPONSE -> direct(r.getDirectResponse(), path + ".direct_response");
            case REDIRECT -> redirect(r.getRedirect(), path + ".redirect");
            default -> throw new ConfigException(path + ": no action (expected: route, direct_response or redirect)");
        };
        return new RouteTable.Route(r.getName(), match, action,
                mutation(r.getRequestHeadersToAddList(), r.getRequestHeadersToRemoveList(), path + ".request_headers_to_add"),
                mutation(r.getResponseHeadersToAddList(), r.getResponseHeadersToRemoveList(), path + ".response_headers_to_add"),
                perFilter);
    }

    static RouteTable.Match match(RouteMatch m, String path) {
        Fields.allowOnly(m, path, "prefix", "path", "safe_regex", "case_sensitive", "headers", "query_parameters", "grpc");
        RouteTable.PathKind kind;
        String value;
        Optional<Pattern> regex = Optional.empty();
        boolean caseSensitive = !m.hasCaseSensitive() || m.getCaseSensitive().getValue();
        switch (m.getPathSpecifierCase()) {
            case PREFIX -> { kind = RouteTable.PathKind.PREFIX; value = m.getPrefix(); }
            case PATH -> { kind = RouteTable.PathKind.PATH; value = m.getPath(); }
            case SAFE_REGEX -> {
                kind = RouteTable.PathKind.REGEX;
                value = m.getSafeRegex().getRegex();
                regex = Optional.of(regex(m.getSafeRegex(), path + ".safe_regex", !caseSensitive));
            }
            default -> throw new ConfigException(path + ": no path match (expected: prefix, path or safe_regex)");
        }
        List<RouteTable.HeaderMatch> headers = new ArrayList<>();
        for (int i = 0; i < m.getHeadersCount(); i++) {
            headers.add(header(m.getHeaders(i), path + ".headers[" + i + "]"));
        }
        List<RouteTable.QueryMatch> query = new ArrayList<>();
        for (int i = 0; i < m.getQueryParametersCount(); i++) {
            QueryParameterMatcher q = m.getQueryParameters(i);
            String qp = path + ".query_parameters[" + i + "]";
            Fields.allowOnly(q, qp, "name", "string_match", "present_match");
            query.add(new RouteTable.QueryMatch(q.getName(), q.hasStringMatch()
                    ? Optional.of(stringMatch(q.getStringMatch(), qp + ".string_match")) : Optional.empty()));
        }
        return new RouteTable.Match(kind, value, regex, caseSensitive, headers, query,
                m.hasGrpc() ? Optional.of(true) : Optional.empty());
    }

    private static RouteTable.HeaderMatch header(HeaderMatcher h, String path) {
        Fields.allowOnly(h, path, "name", "exact_match", "safe_regex_match", "present_match", "prefix_match",
                "suffix_match", "contains_match", "string_match", "invert_match");
        if (h.getName().isEmpty()) {
            throw Fields.invalid(path + ".name", "''", "a header name");
        }
        StringMatch sm = switch (h.getHeaderMatchSpecifierCase()) {
            case EXACT_MATCH -> new StringMatch(StringMatch.Kind.EXACT, h.getExactMatch(), null, false);
            case PREFIX_MATCH -> new StringMatch(StringMatch.Kind.PREFIX, h.getPrefixMatch(), null, false);
            case SUFFIX_MATCH -> new StringMatch(StringMatch.Kind.SUFFIX, h.getSuffixMatch(), null, false);
            case CONTAINS_MATCH -> new StringMatch(StringMatch.Kind.CONTAINS, h.getContainsMatch(), null, false);
            case SAFE_REGEX_MATCH -> new StringMatch(StringMatch.Kind.REGEX, h.getSafeRegexMatch().getRegex(),
                    regex(h.getSafeRegexMatch(), path + ".safe_regex_match", false), false);
            case STRING_MATCH -> stringMatch(h.getStringMatch(), path + ".string_match");
            case PRESENT_MATCH -> null;
            default -> null;
        };
        boolean presentOnly = sm == null;
        boolean present = h.getHeaderMatchSpecifierCase() != HeaderMatcher.HeaderMatchSpecifierCase.PRESENT_MATCH
                || h.getPresentMatch();
        return new RouteTable.HeaderMatch(h.getName(), sm, presentOnly, present, h.getInvertMatch());
    }

    /** Translates a {@code StringMatcher}. */
    public static StringMatch stringMatch(StringMatcher s, String path) {
        Fields.allowOnly(s, path, "exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case");
        boolean ic = s.getIgnoreCase();
        return switch (s.getMatchPatternCase()) {
            case EXACT -> new StringMatch(StringMatch.Kind.EXACT, s.getExact(), null, ic);
            case PREFIX -> new StringMatch(StringMatch.Kind.PREFIX, s.getPrefix(), null, ic);
            case SUFFIX -> new StringMatch(StringMatch.Kind.SUFFIX, s.getSuffix(), null, ic);
            case CONTAINS -> new StringMatch(StringMatch.Kind.CONTAINS, s.getContains(), null, ic);
            case SAFE_REGEX -> new StringMatch(StringMatch.Kind.REGEX, s.getSafeRegex().getRegex(),
                    regex(s.getSafeRegex(), path + ".safe_regex", false), false);
            default -> throw new ConfigException(path + ": no pattern (expected: exact, prefix, suffix, contains or safe_regex)");
        };
    }

    private static Pattern regex(RegexMatcher r, String path, boolean ignoreCase) {
        Fields.allowOnly(r, path, "regex", "google_re2");
        try {
            return Pattern.compile(r.getRegex(), ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
        } catch (PatternSyntaxException e) {
            throw Fields.invalid(path + ".regex", "'" + r.getRegex() + "'", "a valid regular expression: " + e.getDescription());
        }
    }

    private static RouteTable.Forward forward(RouteAction a, String path) {
        Fields.allowOnly(a, path, "cluster", "weighted_clusters", "timeout", "prefix_rewrite", "regex_rewrite",
                "host_rewrite_literal", "auto_host_rewrite", "hash_policy", "retry_policy", "idle_timeout", "priority");
        List<RouteTable.WeightedCluster> clusters = new ArrayList<>();
        switch (a.getClusterSpecifierCase()) {
            case CLUSTER -> clusters.add(new RouteTable.WeightedCluster(a.getCluster(), 1, HeaderMutation.NONE, HeaderMutation.NONE));
            case WEIGHTED_CLUSTERS -> {
                WeightedCluster wc = a.getWeightedClusters();
                String wp = path + ".weighted_clusters";
                Fields.allowOnly(wc, wp, "clusters", "total_weight");
                int total = 0;
                for (int i = 0; i < wc.getClustersCount(); i++) {
                    WeightedCluster.ClusterWeight cw = wc.getClusters(i);
                    String cp = wp + ".clusters[" + i + "]";
                    Fields.allowOnly(cw, cp, with("name", "weight"));
                    int w = cw.hasWeight() ? cw.getWeight().getValue() : 0;
                    total += w;
                    clusters.add(new RouteTable.WeightedCluster(cw.getName(), w,
                            mutation(cw.getRequestHeadersToAddList(), cw.getRequestHeadersToRemoveList(), cp + ".request_headers_to_add"),
                            mutation(cw.getResponseHeadersToAddList(), cw.getResponseHeadersToRemoveList(), cp + ".response_headers_to_add")));
                }
                if (clusters.isEmpty() || total <= 0) {
                    throw Fields.invalid(wp, "total weight " + total, "clusters with a total weight > 0");
                }
                if (wc.hasTotalWeight() && wc.getTotalWeight().getValue() != total) {
                    throw Fields.invalid(wp + ".total_weight", wc.getTotalWeight().getValue(), "the sum of the weights, " + total);
                }
            }
            default -> throw new ConfigException(path + ": no cluster (expected: cluster or weighted_clusters)");
        }
        Duration timeout = a.hasTimeout() ? Fields.duration(a.getTimeout()) : DEFAULT_ROUTE_TIMEOUT;
        Optional<Pattern> rr = Optional.empty();
        String subst = "";
        if (a.hasRegexRewrite()) {
            RegexMatchAndSubstitute r = a.getRegexRewrite();
            Fields.allowOnly(r, path + ".regex_rewrite", "pattern", "substitution");
            rr = Optional.of(regex(r.getPattern(), path + ".regex_rewrite.pattern", false));
            subst = r.getSubstitution().replaceAll("\\\\(\\d)", "\\$$1");
        }
        if (!a.getPrefixRewrite().isEmpty() && a.hasRegexRewrite()) {
            throw new ConfigException(path + ": both prefix_rewrite and regex_rewrite (expected: at most one)");
        }
        boolean auto = a.hasAutoHostRewrite() && a.getAutoHostRewrite().getValue();
        return new RouteTable.Forward(clusters, timeout,
                a.getPrefixRewrite().isEmpty() ? Optional.empty() : Optional.of(a.getPrefixRewrite()),
                rr, subst,
                a.getHostRewriteLiteral().isEmpty() ? Optional.empty() : Optional.of(a.getHostRewriteLiteral()),
                auto, RouteResilienceTranslator.hashPolicy(a, path), RouteResilienceTranslator.retryPolicy(a, path),
                a.hasIdleTimeout() ? Optional.of(Fields.duration(a.getIdleTimeout())) : Optional.empty(),
                a.getPriority() == io.envoyproxy.envoy.config.core.v3.RoutingPriority.HIGH);
    }

    private static RouteTable.DirectResponse direct(DirectResponseAction d, String path) {
        Fields.allowOnly(d, path, "status", "body");
        if (d.getStatus() < 200 || d.getStatus() > 599) {
            throw Fields.invalid(path + ".status", d.getStatus(), "200..599");
        }
        Optional<String> body = Optional.empty();
        if (d.hasBody()) {
            Fields.allowOnly(d.getBody(), path + ".body", "inline_string", "inline_bytes");
            body = Optional.of(d.getBody().hasInlineBytes() ? d.getBody().getInlineBytes().toStringUtf8()
                    : d.getBody().getInlineString());
        }
        return new RouteTable.DirectResponse(d.getStatus(), body);
    }

    private static RouteTable.Redirect redirect(RedirectAction r, String path) {
        Fields.allowOnly(r, path, "scheme_redirect", "https_redirect", "host_redirect", "port_redirect",
                "path_redirect", "prefix_rewrite", "response_code", "strip_query");
        Optional<String> scheme = r.getHttpsRedirect() ? Optional.of("https")
                : r.getSchemeRedirect().isEmpty() ? Optional.empty() : Optional.of(r.getSchemeRedirect());
        int code = switch (r.getResponseCode()) {
            case MOVED_PERMANENTLY -> 301;
            case FOUND -> 302;
            case SEE_OTHER -> 303;
            case TEMPORARY_REDIRECT -> 307;
            case PERMANENT_REDIRECT -> 308;
            default -> throw Fields.invalid(path + ".response_code", r.getResponseCode(), "a redirect code");
        };
        return new RouteTable.Redirect(scheme,
                r.getHostRedirect().isEmpty() ? Optional.empty() : Optional.of(r.getHostRedirect()),
                r.getPortRedirect(),
                r.getPathRedirect().isEmpty() ? Optional.empty() : Optional.of(r.getPathRedirect()),
                r.getPrefixRewrite().isEmpty() ? Optional.empty() : Optional.of(r.getPrefixRewrite()),
                code, r.getStripQuery());
    }

    static HeaderMutation mutation(List<HeaderValueOption> add, List<String> remove, String path) {
        List<HeaderMutation.HeaderToAdd> out = new ArrayList<>();
        for (int i = 0; i < add.size(); i++) {
            HeaderValueOption o = add.get(i);
            String p = path + "[" + i + "]";
            Fields.allowOnly(o, p, "header", "append", "append_action", "keep_empty_value");
            Fields.allowOnly(o.getHeader(), p + ".header", "key", "value");
            String key = o.getHeader().getKey();
            if (key.isEmpty() || key.startsWith(":") || key.equalsIgnoreCase("host")) {
                throw Fields.invalid(p + ".header.key", "'" + key + "'", "a regular header name (not a pseudo-header or host)");
            }
            HeaderMutation.Action action;
            if (o.hasAppend()) {
                action = o.getAppend().getValue() ? HeaderMutation.Action.APPEND_IF_EXISTS_OR_ADD
                        : HeaderMutation.Action.OVERWRITE_IF_EXISTS_OR_ADD;
            } else {
                action = switch (o.getAppendAction()) {
                    case ADD_IF_ABSENT -> HeaderMutation.Action.ADD_IF_ABSENT;
                    case OVERWRITE_IF_EXISTS_OR_ADD -> HeaderMutation.Action.OVERWRITE_IF_EXISTS_OR_ADD;
                    case OVERWRITE_IF_EXISTS -> HeaderMutation.Action.OVERWRITE_IF_EXISTS;
                    default -> HeaderMutation.Action.APPEND_IF_EXISTS_OR_ADD;
                };
            }
            out.add(new HeaderMutation.HeaderToAdd(key, o.getHeader().getValue(), action, o.getKeepEmptyValue()));
        }
        return out.isEmpty() && remove.isEmpty() ? HeaderMutation.NONE : new HeaderMutation(out, remove);
    }
}
