package dev.trellis.controlplane.policy;

import dev.trellis.controlplane.policy.MeshPolicy.AccessPolicySpec;
import dev.trellis.controlplane.policy.MeshPolicy.AccessRule;
import dev.trellis.controlplane.policy.MeshPolicy.Action;
import dev.trellis.controlplane.policy.MeshPolicy.CircuitBreaker;
import dev.trellis.controlplane.policy.MeshPolicy.Destination;
import dev.trellis.controlplane.policy.MeshPolicy.ExternalEndpoint;
import dev.trellis.controlplane.policy.MeshPolicy.ExternalServiceSpec;
import dev.trellis.controlplane.policy.MeshPolicy.ExternalTls;
import dev.trellis.controlplane.policy.MeshPolicy.Fault;
import dev.trellis.controlplane.policy.MeshPolicy.GatewayRoute;
import dev.trellis.controlplane.policy.MeshPolicy.GatewaySpec;
import dev.trellis.controlplane.policy.MeshPolicy.GatewayTls;
import dev.trellis.controlplane.policy.MeshPolicy.HeaderChanges;
import dev.trellis.controlplane.policy.MeshPolicy.HealthCheck;
import dev.trellis.controlplane.policy.MeshPolicy.Jwt;
import dev.trellis.controlplane.policy.MeshPolicy.LoadBalancer;
import dev.trellis.controlplane.policy.MeshPolicy.Match;
import dev.trellis.controlplane.policy.MeshPolicy.MeshConfig;
import dev.trellis.controlplane.policy.MeshPolicy.OutlierDetection;
import dev.trellis.controlplane.policy.MeshPolicy.Protocol;
import dev.trellis.controlplane.policy.MeshPolicy.RateLimit;
import dev.trellis.controlplane.policy.MeshPolicy.RetryPolicy;
import dev.trellis.controlplane.policy.MeshPolicy.RouteRule;
import dev.trellis.controlplane.policy.MeshPolicy.RouteSpec;
import dev.trellis.controlplane.policy.MeshPolicy.ServiceSpec;
import dev.trellis.controlplane.policy.MeshPolicy.TlsMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Validates a whole set of policy documents and builds the typed {@link MeshPolicy}. All errors of
 * all documents are reported together; a set with any error yields no policy.
 */
public final class PolicyValidator {
    private static final Pattern HEADER = Pattern.compile("[!#$%&'*+.^_`|~0-9a-zA-Z-]+");
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\\[[0-9a-fA-F:.]+]");
    private static final List<String> RETRY_ON = List.of("5xx", "gateway-error", "reset", "connect-failure",
            "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers",
            "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted",
            "unavailable");

    private PolicyValidator() {}

    /** Validates {@code docs} as one policy at {@code revision}; throws with every error found. */
    public static MeshPolicy validate(Collection<PolicyDocument> docs, long revision) throws PolicyException {
        List<String> errors = new ArrayList<>();
        MeshConfig mesh = MeshConfig.DEFAULT;
        Map<String, ServiceSpec> services = new TreeMap<>();
        Map<String, RouteSpec> routes = new TreeMap<>();
        Map<String, AccessPolicySpec> access = new TreeMap<>();
        Map<String, GatewaySpec> gateways = new TreeMap<>();
        Map<String, ExternalServiceSpec> external = new TreeMap<>();
        List<PolicyDocument> meshConfigs = docs.stream().filter(d -> d.kind() == PolicyKind.MeshConfig).toList();
        if (meshConfigs.size() > 1) {
            errors.add(meshConfigs.get(1).ref() + ": kind: MeshConfig (expected: at most one MeshConfig document, found "
                    + meshConfigs.size() + ")");
        }
        for (PolicyDocument d : meshConfigs) {
            mesh = meshConfig(d, errors);
        }
        for (PolicyDocument d : docs) {
            String ref = d.ref();
            if (d.kind() != PolicyKind.MeshConfig && !SpecReader.NAME.matcher(d.name()).matches()) {
                errors.add(ref + ": name: " + d.name() + " (expected: lower-case letters, digits, '-' and '.')");
                continue;
            }
            SpecReader r = SpecReader.root(ref, d.spec(), errors);
            switch (d.kind()) {
                case MeshConfig -> { }
                case Service -> services.put(d.name(), service(r, d.name(), mesh.defaults()));
                case Route -> routes.put(d.name(), route(r, d.name()));
                case AccessPolicy -> access.put(d.name(), accessPolicy(r, d.name()));
                case Gateway -> gateways.put(d.name(), gateway(r, d.name()));
                case ExternalService -> external.put(d.name(), externalService(r, d.name()));
            }
            if (d.kind() != PolicyKind.MeshConfig) {
                r.done();
            }
        }
        for (RouteSpec r : routes.values()) {
            if (external.containsKey(r.service())) {
                errors.add("Route/" + r.name() + ": spec.service: " + r.service()
                        + " (expected: a mesh service, not ExternalService/" + r.service() + ")");
            }
            for (int i = 0; i < r.rules().size(); i++) {
                List<Destination> ds = r.rules().get(i).destinations();
                for (int j = 0; j < ds.size(); j++) {
                    if (!ds.get(j).service().equals(r.service()) && external.containsKey(ds.get(j).service())) {
                        errors.add("Route/" + r.name() + ": spec.rules[" + i + "].destinations[" + j + "].service: "
                                + ds.get(j).service() + " (expected: a mesh service, not ExternalService/"
                                + ds.get(j).service() + ")");
                    }
                }
            }
        }
        for (PolicyDocument d : docs) {
            if (d.kind() == PolicyKind.ExternalService && services.containsKey(d.name())) {
                errors.add(d.ref() + ": name: " + d.name() + " (expected: a name not also used by Service/" + d.name() + ")");
            }
        }
        if (!errors.isEmpty()) {
            throw new PolicyException(errors);
        }
        return new MeshPolicy(revision, mesh, Map.copyOf(services), Map.copyOf(routes), Map.copyOf(access),
                Map.copyOf(gateways), Map.copyOf(external));
    }

    private static MeshConfig meshConfig(PolicyDocument d, List<String> errors) {
        SpecReader r = SpecReader.root(d.ref(), d.spec(), errors);
        String trustDomain = r.name("trustDomain", false);
        String namespace = r.name("namespace", false);
        Duration ttl = r.duration("certificateTtl", MeshConfig.DEFAULT.certificateTtl(), false);
        if (ttl.compareTo(Duration.ofMinutes(10)) < 0) {
            r.error(r.at("certificateTtl"), dev.trellis.common.Durations.format(ttl), ">= 10m");
        }
        TlsMode tls = r.choice("tlsMode", TlsMode.class, TlsMode.STRICT);
        SpecReader defaults = r.object("defaults");
        ServiceSpec dflt = defaults == null ? ServiceSpec.defaults("") : service(defaults, "", ServiceSpec.defaults(""));
        if (defaults != null) defaults.done();
        MeshPolicy.Telemetry telemetry = telemetry(r);
        r.done();
        return new MeshConfig(trustDomain == null ? "trellis.local" : trustDomain,
                namespace == null ? "default" : namespace, ttl, tls, dflt, telemetry);
    }

    /** {@code accessLog: stdout | /path} and {@code tracing: {collector, sampling}} of a MeshConfig. */
    private static MeshPolicy.Telemetry telemetry(SpecReader r) {
        String log = r.string("accessLog", null, false);
        if (log != null && !log.equals("stdout") && !log.startsWith("/")) {
            r.error(r.at("accessLog"), "'" + log + "'", "stdout or an absolute file path");
        }
        Optional<MeshPolicy.Tracing> tracing = Optional.empty();
        SpecReader t = r.object("tracing");
        if (t != null) {
            String collector = t.string("collector", null, true);
            double sampling = t.number("sampling", 1.0, 0, 100);
            if (collector != null) {
                boolean url = collector.startsWith("http://") || collector.startsWith("https://");
                if (!url && !collector.matches("[A-Za-z0-9.\\-\\[\\]:]+:[0-9]{1,5}")) {
                    t.error(t.at("collector"), "'" + collector + "'",
                            "host:port of an OTLP/gRPC collector or an http(s):// OTLP/HTTP URL");
                } else {
                    tracing = Optional.of(new MeshPolicy.Tracing(collector, sampling));
                }
            }
            t.done();
        }
        return new MeshPolicy.Telemetry(Optional.ofNullable(log), tracing);
    }

    private static ServiceSpec service(SpecReader r, String name, ServiceSpec base) {
        Protocol protocol = r.choice("protocol", Protocol.class, base.protocol());
        LoadBalancer lb = r.choice("loadBalancer", LoadBalancer.class, base.loadBalancer());
        Duration timeout = r.duration("timeout", base.timeout(), false);
        Duration connectTimeout = r.duration("connectTimeout", base.connectTimeout(), false);
        SpecReader rr = r.object("retries");
        RetryPolicy retries = rr == null ? base.retries() : retries(rr, base.retries());
        SpecReader cbr = r.object("circuitBreaker");
        CircuitBreaker cb = base.circuitBreaker();
        if (cbr != null) {
            cb = new CircuitBreaker(
                    (int) cbr.integer("maxConnections", cb.maxConnections(), 1, 1_000_000),
                    (int) cbr.integer("maxPendingRequests", cb.maxPendingRequests(), 1, 1_000_000),
                    (int) cbr.integer("maxRequests", cb.maxRequests(), 1, 1_000_000),
                    (int) cbr.integer("maxRetries", cb.maxRetries(), 0, 1_000_000));
            cbr.done();
        }
        SpecReader odr = r.object("outlierDetection");
        Optional<OutlierDetection> od = base.outlierDetection();
        if (odr != null) {
            od = Optional.of(new OutlierDetection(
                    (int) odr.integer("consecutive5xx", 5, 1, 1000),
                    (int) odr.integer("consecutiveGatewayFailure", 5, 1, 1000),
                    odr.duration("interval", Duration.ofSeconds(10), false),
                    odr.duration("baseEjectionTime", Duration.ofSeconds(30), false),
                    (int) odr.integer("maxEjectionPercent", 10, 0, 100)));
            odr.done();
        }
        SpecReader hcr = r.object("healthCheck");
        Optional<HealthCheck> hc = base.healthCheck();
        if (hcr != null) {
            String path = hcr.string("path", "/health", false);
            if (!path.startsWith("/")) hcr.error(hcr.at("path"), path, "a path starting with /");
            Duration interval = hcr.duration("interval", Duration.ofSeconds(5), false);
            Duration to = hcr.duration("timeout", Duration.ofSeconds(1), false);
            if (to.compareTo(interval) > 0) {
                hcr.error(hcr.at("timeout"), dev.trellis.common.Durations.format(to), "<= interval ("
                        + dev.trellis.common.Durations.format(interval) + ")");
            }
            hc = Optional.of(new HealthCheck(path, interval, to,
                    (int) hcr.integer("healthyThreshold", 2, 1, 100),
                    (int) hcr.integer("unhealthyThreshold", 3, 1, 100)));
            hcr.done();
        }
        Optional<TlsMode> tls = r.has("tlsMode") ? Optional.of(r.choice("tlsMode", TlsMode.class, TlsMode.STRICT))
                : base.tlsMode();
        return new ServiceSpec(name, protocol, lb, timeout, connectTimeout, retries, cb, od, hc, tls);
    }

    private static RetryPolicy retries(SpecReader r, RetryPolicy base) {
        int attempts = (int) r.integer("attempts", base.attempts(), 0, 10);
        List<String> on = base.retryOn();
        if (r.has("retryOn")) {
            on = r.strings("retryOn");
            for (int i = 0; i < on.size(); i++) {
                if (!RETRY_ON.contains(on.get(i))) {
                    r.error(r.at("retryOn") + "[" + i + "]", on.get(i), "one of " + String.join(", ", RETRY_ON));
                }
            }
        }
        Optional<Duration> perTry = r.has("perTryTimeout")
                ? Optional.of(r.duration("perTryTimeout", Duration.ofSeconds(1), false)) : base.perTryTimeout();
        Duration bb = r.duration("backoffBase", base.backoffBase(), false);
        Duration bm = r.duration("backoffMax", base.backoffMax(), false);
        if (bm.compareTo(bb) < 0) {
            r.error(r.at("backoffMax"), dev.trellis.common.Durations.format(bm),
                    ">= backoffBase (" + dev.trellis.common.Durations.format(bb) + ")");
        }
        double budget = base.budgetPercent();
        int minConc = base.budgetMinConcurrency();
        SpecReader br = r.object("budget");
        if (br != null) {
            budget = br.number("percent", budget, 0, 100);
            minConc = (int) br.integer("minConcurrency", minConc, 0, 1_000_000);
            br.done();
        }
        r.done();
        return new RetryPolicy(attempts, List.copyOf(on), perTry, bb, bm, budget, minConc);
    }

    private static RouteSpec route(SpecReader r, String name) {
        String service = r.name("service", true);
        List<RouteRule> rules = r.list("rules", rr -> rule(rr, service));
        if (!r.has("rules") || rules.isEmpty()) {
            if (!r.has("rules")) r.error(r.at("rules"), "missing", "a list of at least one rule");
        }
        return new RouteSpec(name, service == null ? "" : service, List.copyOf(rules));
    }

    private static RouteRule rule(SpecReader r, String service) {
        SpecReader mr = r.object("match");
        Match match = new Match(Optional.empty(), Optional.of("/"), Optional.empty(), Map.of(), Optional.empty());
        if (mr != null) {
            Optional<String> path = Optional.ofNullable(mr.string("path", null, false));
            Optional<String> prefix = Optional.ofNullable(mr.string("pathPrefix", null, false));
            Optional<String> regex = Optional.ofNullable(mr.string("pathRegex", null, false));
            int n = (path.isPresent() ? 1 : 0) + (prefix.isPresent() ? 1 : 0) + (regex.isPresent() ? 1 : 0);
            if (n > 1) {
                mr.error(mr.at("path"), "path, pathPrefix and pathRegex together", "at most one of them");
            }
            path.filter(p -> !p.startsWith("/")).ifPresent(p -> mr.error(mr.at("path"), p, "a path starting with /"));
            prefix.filter(p -> !p.startsWith("/")).ifPresent(p -> mr.error(mr.at("pathPrefix"), p, "a path starting with /"));
            regex.ifPresent(p -> {
                try {
                    Pattern.compile(p);
                } catch (PatternSyntaxException e) {
                    mr.error(mr.at("pathRegex"), p, "a regular expression (" + e.getDescription() + ")");
                }
            });
            if (n == 0) prefix = Optional.of("/");
            Map<String, String> headers = mr.stringMap("headers");
            headers.keySet().stream().filter(h -> !HEADER.matcher(h).matches())
                    .forEach(h -> mr.error(mr.at("headers") + "." + h, h, "a header name"));
            Optional<String> method = Optional.ofNullable(mr.string("method", null, false));
            method.filter(m -> !m.matches("[A-Z]+")).ifPresent(m -> mr.error(mr.at("method"), m, "an upper-case HTTP method such as GET"));
            mr.done();
            match = new Match(path, prefix, regex, Map.copyOf(headers), method);
        }
        List<Destination> dests = r.list("destinations", dr -> {
            String svc = dr.name("service", false);
            Map<String, String> subset = dr.stringMap("subset");
            int weight = (int) dr.integer("weight", 100, 0, 10_000);
            return new Destination(svc == null ? service == null ? "" : service : svc, Map.copyOf(subset), weight);
        });
        if (dests.isEmpty()) {
            dests = List.of(new Destination(service == null ? "" : service, Map.of(), 100));
        } else if (dests.stream().mapToInt(Destination::weight).sum() == 0) {
            r.error(r.at("destinations"), "total weight 0", "a total weight > 0");
        }
        Optional<Duration> timeout = r.has("timeout") ? Optional.of(r.duration("timeout", Duration.ofSeconds(15), false))
                : Optional.empty();
        SpecReader rr = r.object("retries");
        Optional<RetryPolicy> retries = rr == null ? Optional.empty() : Optional.of(retries(rr, RetryPolicy.DEFAULT));
        HeaderChanges req = headerChanges(r.object("requestHeaders"));
        HeaderChanges resp = headerChanges(r.object("responseHeaders"));
        SpecReader fr = r.object("fault");
        Optional<Fault> fault = Optional.empty();
        if (fr != null) {
            SpecReader dr = fr.object("delay");
            SpecReader ar = fr.object("abort");
            Optional<Duration> delay = Optional.empty();
            double dp = 0;
            int status = 0;
            double ap = 0;
            if (dr != null) {
                delay = Optional.of(dr.duration("fixed", Duration.ofSeconds(1), false));
                dp = dr.number("percent", 100, 0, 100);
                dr.done();
            }
            if (ar != null) {
                status = (int) ar.integer("status", 503, 200, 599);
                ap = ar.number("percent", 100, 0, 100);
                ar.done();
            }
            if (dr == null && ar == null) {
                fr.error(fr.path(), "{}", "a delay, an abort or both");
            }
            fr.done();
            fault = Optional.of(new Fault(delay, dp, status, ap));
        }
        return new RouteRule(match, List.copyOf(dests), timeout, retries, req, resp, fault);
    }

    private static HeaderChanges headerChanges(SpecReader r) {
        if (r == null) return HeaderChanges.NONE;
        Map<String, String> set = r.stringMap("set");
        Map<String, String> add = r.stringMap("add");
        List<String> remove = r.strings("remove");
        for (String h : set.keySet()) if (!HEADER.matcher(h).matches()) r.error(r.at("set") + "." + h, h, "a header name");
        for (String h : add.keySet()) if (!HEADER.matcher(h).matches()) r.error(r.at("add") + "." + h, h, "a header name");
        for (String h : remove) if (!HEADER.matcher(h).matches()) r.error(r.at("remove"), h, "a header name");
        r.done();
        return new HeaderChanges(Map.copyOf(set), Map.copyOf(add), List.copyOf(remove));
    }

    private static AccessPolicySpec accessPolicy(SpecReader r, String name) {
        Action dflt = r.choice("default", Action.class, Action.DENY);
        List<AccessRule> rules = r.list("rules", rr -> {
            Action action = rr.choice("action", Action.class, Action.ALLOW);
            List<String> from = rr.strings("from");
            for (int i = 0; i < from.size(); i++) {
                if (!from.get(i).equals("*") && !SpecReader.NAME.matcher(from.get(i)).matches()) {
                    rr.error(rr.at("from") + "[" + i + "]", from.get(i), "a service name or *");
                }
            }
            if (from.isEmpty()) rr.error(rr.at("from"), "[]", "at least one service name or *");
            List<String> methods = rr.strings("methods");
            List<String> paths = rr.strings("paths");
            for (int i = 0; i < paths.size(); i++) {
                if (!paths.get(i).startsWith("/")) rr.error(rr.at("paths") + "[" + i + "]", paths.get(i),
                        "a path starting with / (a trailing * makes it a prefix)");
            }
            return new AccessRule(action, List.copyOf(from), List.copyOf(methods), List.copyOf(paths));
        });
        return new AccessPolicySpec(name, dflt, List.copyOf(rules));
    }

    private static GatewaySpec gateway(SpecReader r, String name) {
        int port = (int) r.integer("port", 8443, 1, 65535);
        List<String> hosts = hosts(r, "hosts");
        SpecReader tr = r.object("tls");
        Optional<GatewayTls> tls = Optional.empty();
        if (tr != null) {
            tls = Optional.of(new GatewayTls(tr.string("certFile", "", true), tr.string("keyFile", "", true)));
            tr.done();
        }
        Optional<Integer> httpPort = r.has("httpPort") ? Optional.of((int) r.integer("httpPort", 8080, 1, 65535)) : Optional.empty();
        MeshPolicy.HttpMode httpMode = r.choice("httpMode", MeshPolicy.HttpMode.class, MeshPolicy.HttpMode.REDIRECT);
        if (httpPort.isPresent() && httpPort.get() == port) r.error(r.at("httpPort"), String.valueOf(port), "a port other than port");
        long maxBody = r.integer("maxRequestBytes", 10L * 1024 * 1024, 1, 4L * 1024 * 1024 * 1024 - 1);
        int hops = (int) r.integer("xffTrustedHops", 0, 0, 10);
        SpecReader jr = r.object("jwt");
        Optional<Jwt> jwt = Optional.empty();
        if (jr != null) {
            String issuer = jr.string("issuer", "", true);
            List<String> aud = jr.strings("audiences");
            Optional<String> file = Optional.ofNullable(jr.string("jwksFile", null, false));
            Optional<String> uri = Optional.ofNullable(jr.string("jwksUri", null, false));
            if (file.isEmpty() && uri.isEmpty()) jr.error(jr.at("jwksFile"), "missing", "jwksFile or jwksUri");
            if (file.isPresent() && uri.isPresent()) jr.error(jr.at("jwksUri"), uri.get(), "either jwksFile or jwksUri, not both");
            if (uri.isPresent() && !uri.get().startsWith("https://")) jr.error(jr.at("jwksUri"), uri.get(), "an https:// URL");
            Optional<String> ca = Optional.ofNullable(jr.string("jwksCaFile", null, false));
            Duration cache = jr.duration("jwksCacheDuration", Duration.ofMinutes(10), false);
            Duration refetch = jr.duration("jwksRefetchInterval", Duration.ofSeconds(30), true);
            Map<String, String> claims = jr.stringMap("claimHeaders");
            for (String h : claims.keySet()) if (!HEADER.matcher(h).matches()) jr.error(jr.at("claimHeaders") + "." + h, h, "a header name");
            boolean forward = jr.bool("forward", false);
            int skew = (int) jr.integer("clockSkewSeconds", 60, 0, 3600);
            jr.done();
            jwt = Optional.of(new Jwt(issuer, List.copyOf(aud), file, uri, ca, cache, refetch,
                    claims.isEmpty() ? Map.of("x-jwt-sub", "sub") : Map.copyOf(claims), forward, skew));
        }
        Optional<RateLimit> rate = rateLimit(r);
        boolean hasJwt = jwt.isPresent();
        List<GatewayRoute> routes = r.list("routes", rr -> {
            String prefix = rr.string("pathPrefix", "/", false);
            if (!prefix.startsWith("/")) rr.error(rr.at("pathPrefix"), prefix, "a path starting with /");
            String svc = rr.name("service", true);
            Optional<String> rewrite = Optional.ofNullable(rr.string("rewritePrefix", null, false));
            Optional<Duration> timeout = rr.has("timeout")
                    ? Optional.of(rr.duration("timeout", Duration.ofSeconds(15), false)) : Optional.empty();
            List<String> scopes = rr.strings("requireScopes");
            boolean needJwt = rr.bool("requireJwt", false) || !scopes.isEmpty();
            if (needJwt && !hasJwt) rr.error(rr.at("requireJwt"), "true", "a gateway with a jwt section");
            List<String> routeHosts = hosts(rr, "hosts");
            Optional<RateLimit> rl = rateLimit(rr);
            if (rl.isPresent() && rl.get().key() == MeshPolicy.RateLimitKey.JWT_SUBJECT && !needJwt) {
                rr.error(rr.at("rateLimit") + ".key", "jwt-subject", "a route that requires a JWT");
            }
            Optional<MeshPolicy.Cors> cors = Optional.empty();
            SpecReader cr = rr.object("cors");
            if (cr != null) {
                List<String> origins = cr.strings("allowOrigins");
                if (origins.isEmpty()) cr.error(cr.at("allowOrigins"), "[]", "at least one origin (https://app.example) or *");
                Optional<Duration> maxAge = cr.has("maxAge") ? Optional.of(cr.duration("maxAge", Duration.ZERO, true)) : Optional.empty();
                cors = Optional.of(new MeshPolicy.Cors(List.copyOf(origins), List.copyOf(cr.strings("allowMethods")),
                        List.copyOf(cr.strings("allowHeaders")), List.copyOf(cr.strings("exposeHeaders")), maxAge,
                        cr.bool("allowCredentials", false)));
                cr.done();
            }
            return new GatewayRoute(prefix, svc == null ? "" : svc, rewrite, timeout, needJwt, routeHosts,
                    List.copyOf(scopes), rl, cors);
        });
        if (rate.isPresent() && rate.get().key() == MeshPolicy.RateLimitKey.JWT_SUBJECT && !hasJwt) {
            r.error(r.at("rateLimit") + ".key", "jwt-subject", "a gateway with a jwt section");
        }
        return new GatewaySpec(name, port, hosts, tls, List.copyOf(routes), jwt, rate, httpPort, httpMode, maxBody, hops);
    }

    private static List<String> hosts(SpecReader r, String field) {
        List<String> hosts = r.strings(field);
        for (int i = 0; i < hosts.size(); i++) {
            String h = hosts.get(i);
            String bare = h.startsWith("*.") ? h.substring(2) : h;
            if (!h.equals("*") && !HOST.matcher(bare).matches()) {
                r.error(r.at(field) + "[" + i + "]", h, "a host name, *.suffix or *");
            }
        }
        return List.copyOf(hosts);
    }

    private static Optional<RateLimit> rateLimit(SpecReader r) {
        SpecReader rl = r.object("rateLimit");
        if (rl == null) return Optional.empty();
        int rps = (int) rl.integer("requestsPerSecond", 100, 1, 10_000_000);
        int burst = (int) rl.integer("burst", rps, 1, 10_000_000);
        String k = rl.string("key", "client-ip", false);
        MeshPolicy.RateLimitKey key = MeshPolicy.RateLimitKey.CLIENT_IP;
        Optional<String> header = Optional.empty();
        switch (k) {
            case "client-ip" -> key = MeshPolicy.RateLimitKey.CLIENT_IP;
            case "jwt-subject" -> key = MeshPolicy.RateLimitKey.JWT_SUBJECT;
            case "global" -> key = MeshPolicy.RateLimitKey.GLOBAL;
            default -> {
                if (k.startsWith("header:") && HEADER.matcher(k.substring(7)).matches()) {
                    key = MeshPolicy.RateLimitKey.HEADER;
                    header = Optional.of(k.substring(7).toLowerCase(java.util.Locale.ROOT));
                } else {
                    rl.error(rl.at("key"), k, "client-ip, jwt-subject, global or header:NAME");
                }
            }
        }
        rl.done();
        return Optional.of(new RateLimit(rps, burst, key, header));
    }

    private static ExternalServiceSpec externalService(SpecReader r, String name) {
        Protocol protocol = r.choice("protocol", Protocol.class, Protocol.HTTP);
        List<String> eps = r.strings("endpoints");
        List<ExternalEndpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < eps.size(); i++) {
            String e = eps.get(i);
            int colon = e.lastIndexOf(':');
            String host = colon > 0 ? e.substring(0, colon) : "";
            int port = -1;
            try {
                port = colon > 0 ? Integer.parseInt(e.substring(colon + 1)) : -1;
            } catch (NumberFormatException ignored) {
                // reported below
            }
            if (!HOST.matcher(host).matches() || port < 1 || port > 65535) {
                r.error(r.at("endpoints") + "[" + i + "]", e, "HOST:PORT such as api.example.com:443");
            } else {
                endpoints.add(new ExternalEndpoint(host.startsWith("[") ? host.substring(1, host.length() - 1) : host, port));
            }
        }
        if (eps.isEmpty()) r.error(r.at("endpoints"), "[]", "at least one HOST:PORT");
        SpecReader tr = r.object("tls");
        Optional<ExternalTls> tls = Optional.empty();
        if (tr != null) {
            String sni = tr.string("sni", endpoints.isEmpty() ? "" : endpoints.get(0).host(), false);
            tls = Optional.of(new ExternalTls(sni, Optional.ofNullable(tr.string("caFile", null, false))));
            tr.done();
        }
        Duration ct = r.duration("connectTimeout", Duration.ofSeconds(5), false);
        Duration to = r.duration("timeout", Duration.ofSeconds(15), false);
        return new ExternalServiceSpec(name, protocol, List.copyOf(endpoints), tls, ct, to);
    }
}
