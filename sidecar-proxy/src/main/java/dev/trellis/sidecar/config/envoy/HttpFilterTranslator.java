package dev.trellis.sidecar.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.config.StringMatch;
import dev.trellis.sidecar.filter.BodyLimitConfig;
import dev.trellis.sidecar.filter.cors.CorsConfig;
import dev.trellis.sidecar.filter.fault.FaultConfig;
import dev.trellis.sidecar.filter.jwt.JwksSource;
import dev.trellis.sidecar.filter.jwt.JwtAuthnConfig;
import dev.trellis.sidecar.filter.rbac.RbacConfig;
import dev.trellis.sidecar.filter.rbac.RbacTranslator;
import dev.trellis.sidecar.filter.ratelimit.LocalRateLimitConfig;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.RateLimit;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.XRateLimitHeadersRFCVersion;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code http_filters} entries and their per-route {@code typed_per_filter_config} to filter configs:
 * {@code jwt_authn}, {@code local_ratelimit}, {@code cors}, {@code buffer} (as a body limit), {@code fault} and the router.
 */
public final class HttpFilterTranslator {
    public static final String JWT_AUTHN = "envoy.filters.http.jwt_authn";
    public static final String LOCAL_RATELIMIT = "envoy.filters.http.local_ratelimit";
    public static final String CORS = "envoy.filters.http.cors";
    public static final String BUFFER = "envoy.filters.http.buffer";
    public static final String FAULT = "envoy.filters.http.fault";
    /** Envoy's default JWKS cache duration. */
    public static final Duration DEFAULT_JWKS_CACHE = Duration.ofMinutes(10);
    /** Trellis's default minimum time between refetches caused by an unknown {@code kid}. */
    public static final Duration DEFAULT_UNKNOWN_KID_REFETCH = Duration.ofSeconds(30);

    private HttpFilterTranslator() {}

    /** Translates the chain; the router must come once, last. */
    public static List<HttpFilterConfig> chain(List<HttpFilter> filters, String path) {
        List<HttpFilterConfig> out = new ArrayList<>();
        int routers = 0;
        for (int i = 0; i < filters.size(); i++) {
            HttpFilter hf = filters.get(i);
            String p = path + "[" + i + "]";
            Fields.allowOnly(hf, p, "name", "typed_config");
            HttpFilterConfig f = filter(hf, p);
            if (f instanceof HttpFilterConfig.Router) {
                routers++;
            }
            out.add(f);
        }
        if (out.isEmpty() || !(out.get(out.size() - 1) instanceof HttpFilterConfig.Router)) {
            throw new ConfigException(path + ": " + (out.isEmpty() ? "empty" : "not ending with the router")
                    + " (expected: ending with " + ListenerTranslator.ROUTER + ")");
        }
        if (routers > 1) {
            throw Fields.invalid(path, routers + " routers", "the router once, at the end");
        }
        return out;
    }

    private static String typeName(Any any) {
        String url = any.getTypeUrl();
        return url.substring(url.lastIndexOf('/') + 1);
    }

    private static HttpFilterConfig filter(HttpFilter hf, String p) {
        String name = hf.getName();
        if (!hf.hasTypedConfig()) {
            if (name.equals(ListenerTranslator.ROUTER)) {
                return new HttpFilterConfig.Router(name);
            }
            if (name.equals(RbacTranslator.NAME)) {
                return new RbacConfig(name, Optional.empty());
            }
            // without a typed_config only these two are known by name
            throw Fields.invalid(p + ".name", "'" + name + "'", ListenerTranslator.ROUTER + " or " + RbacTranslator.NAME);
        }
        Any any = hf.getTypedConfig();
        String tp = p + ".typed_config";
        String type = typeName(any);
        if (type.equals(Router.getDescriptor().getFullName())) {
            Fields.allowOnly(EnvoyTypes.unpack(any, Router.class, Router.getDescriptor(), tp), tp);
            return new HttpFilterConfig.Router(name.isEmpty() ? ListenerTranslator.ROUTER : name);
        }
        if (name.isEmpty()) {
            throw Fields.invalid(p + ".name", "''", "a filter name");
        }
        if (type.equals(RbacTranslator.TYPE)) {
            return RbacTranslator.translate(name, any, tp);
        }
        if (type.equals(JwtAuthentication.getDescriptor().getFullName())) {
            return jwt(name, EnvoyTypes.unpack(any, JwtAuthentication.class, JwtAuthentication.getDescriptor(), tp), tp);
        }
        if (type.equals(LocalRateLimit.getDescriptor().getFullName())) {
            return rateLimit(name, EnvoyTypes.unpack(any, LocalRateLimit.class, LocalRateLimit.getDescriptor(), tp), tp);
        }
        if (type.equals(Cors.getDescriptor().getFullName())) {
            Fields.allowOnly(EnvoyTypes.unpack(any, Cors.class, Cors.getDescriptor(), tp), tp);
            return new CorsConfig.Filter(name);
        }
        if (type.equals(Buffer.getDescriptor().getFullName())) {
            return buffer(name, EnvoyTypes.unpack(any, Buffer.class, Buffer.getDescriptor(), tp), tp);
        }
        if (type.equals(HTTPFault.getDescriptor().getFullName())) {
            return fault(name, EnvoyTypes.unpack(any, HTTPFault.class, HTTPFault.getDescriptor(), tp), tp);
        }
        throw new ConfigException(tp + ": http filter type '" + type + "' not supported (expected one of: "
                + Router.getDescriptor().getFullName() + ", " + RbacTranslator.TYPE + ", " + JwtAuthentication.getDescriptor().getFullName() + ", "
                + LocalRateLimit.getDescriptor().getFullName() + ", " + Cors.getDescriptor().getFullName() + ", "
                + Buffer.getDescriptor().getFullName() + ", " + HTTPFault.getDescriptor().getFullName() + ")");
    }

    /** A route's (or virtual host's) {@code typed_per_filter_config}, keyed by filter name. */
    public static Map<String, HttpFilterConfig> perRoute(Map<String, Any> typed, String path) {
        Map<String, HttpFilterConfig> out = new LinkedHashMap<>();
        for (Map.Entry<String, Any> e : new java.util.TreeMap<>(typed).entrySet()) {
            String name = e.getKey();
            String p = path + "[" + name + "]";
            Any any = e.getValue();
            String type = typeName(any);
            if (type.equals(PerRouteConfig.getDescriptor().getFullName())) {
                PerRouteConfig c = EnvoyTypes.unpack(any, PerRouteConfig.class, PerRouteConfig.getDescriptor(), p);
                Fields.allowOnly(c, p, "disabled", "requirement_name");
                if (!c.getDisabled() && c.getRequirementName().isEmpty()) {
                    throw Fields.invalid(p, "neither disabled nor requirement_name", "one of them");
                }
                out.put(name, new JwtAuthnConfig.PerRoute(name, c.getDisabled(),
                        c.getRequirementName().isEmpty() ? Optional.empty() : Optional.of(c.getRequirementName())));
            } else if (type.equals(LocalRateLimit.getDescriptor().getFullName())) {
                out.put(name, rateLimit(name, EnvoyTypes.unpack(any, LocalRateLimit.class, LocalRateLimit.getDescriptor(), p), p));
            } else if (type.equals(CorsPolicy.getDescriptor().getFullName())) {
                out.put(name, cors(name, EnvoyTypes.unpack(any, CorsPolicy.class, CorsPolicy.getDescriptor(), p), p));
            } else if (type.equals(BufferPerRoute.getDescriptor().getFullName())) {
                BufferPerRoute b = EnvoyTypes.unpack(any, BufferPerRoute.class, BufferPerRoute.getDescriptor(), p);
                Fields.allowOnly(b, p, "disabled", "buffer");
                out.put(name, b.getDisabled() ? new BodyLimitConfig(name, 0) : buffer(name, b.getBuffer(), p + ".buffer"));
            } else if (type.equals(HTTPFault.getDescriptor().getFullName())) {
                out.put(name, fault(name, EnvoyTypes.unpack(any, HTTPFault.class, HTTPFault.getDescriptor(), p), p));
            } else {
                throw new ConfigException(p + ": per-route type '" + type + "' not supported (expected one of: "
                        + PerRouteConfig.getDescriptor().getFullName() + ", " + LocalRateLimit.getDescriptor().getFullName()
                        + ", " + CorsPolicy.getDescriptor().getFullName() + ", " + BufferPerRoute.getDescriptor().getFullName()
                        + ", " + HTTPFault.getDescriptor().getFullName() + ")");
            }
        }
        return out;
    }

    /** True when {@code perRoute} is a per-route config for filter {@code f}. */
    static boolean fits(HttpFilterConfig f, HttpFilterConfig perRoute) {
        return (f instanceof JwtAuthnConfig j && perRoute instanceof JwtAuthnConfig.PerRoute pr
                        && (pr.requirementName().isEmpty() || j.requirementMap().containsKey(pr.requirementName().get())))
                || (f instanceof LocalRateLimitConfig && perRoute instanceof LocalRateLimitConfig)
                || (f instanceof CorsConfig.Filter && perRoute instanceof CorsConfig.Policy)
                || (f instanceof BodyLimitConfig && perRoute instanceof BodyLimitConfig)
                || (f instanceof FaultConfig && perRoute instanceof FaultConfig);
    }

    /** The route's claim requirements from {@code metadata.filter_metadata["trellis.jwt_authn"]}, if any. */
    public static Optional<JwtAuthnConfig.RouteClaims> routeClaims(Struct s, String path) {
        List<String> scopes = new ArrayList<>();
        Map<String, String> claims = new LinkedHashMap<>();
        for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
            String p = path + "." + e.getKey();
            switch (e.getKey()) {
                case "required_scopes" -> {
                    if (!e.getValue().hasListValue()) {
                        throw Fields.invalid(p, e.getValue().getKindCase(), "a list of scope names");
                    }
                    e.getValue().getListValue().getValuesList().forEach(v -> scopes.add(v.getStringValue()));
                }
                case "required_claims" -> {
                    if (!e.getValue().hasStructValue()) {
                        throw Fields.invalid(p, e.getValue().getKindCase(), "a map of claim name to value");
                    }
                    e.getValue().getStructValue().getFieldsMap().forEach((k, v) -> claims.put(k, v.getStringValue()));
                }
                default -> throw new ConfigException(p + ": not supported by Trellis (supported here: required_scopes, required_claims)");
            }
        }
        return scopes.isEmpty() && claims.isEmpty() ? Optional.empty() : Optional.of(new JwtAuthnConfig.RouteClaims(scopes, claims));
    }

    /** The subset of {@code HTTPFault} the control plane emits: a fixed delay and an abort, by percentage. */
    static FaultConfig fault(String name, HTTPFault f, String p) {
        Fields.allowOnly(f, p, "delay", "abort");
        Optional<FaultConfig.Delay> delay = Optional.empty();
        if (f.hasDelay()) {
            FaultDelay d = f.getDelay();
            String dp = p + ".delay";
            Fields.allowOnly(d, dp, "fixed_delay", "percentage");
            if (!d.hasFixedDelay()) {
                throw new ConfigException(dp + ".fixed_delay: missing (expected: a duration > 0)");
            }
            delay = Optional.of(new FaultConfig.Delay(Fields.positive(d.getFixedDelay(), dp + ".fixed_delay"),
                    fraction(d.getPercentage(), dp + ".percentage")));
        }
        Optional<FaultConfig.Abort> abort = Optional.empty();
        if (f.hasAbort()) {
            FaultAbort a = f.getAbort();
            String ap = p + ".abort";
            Fields.allowOnly(a, ap, "http_status", "grpc_status", "percentage");
            Optional<Integer> grpc = Optional.empty();
            int http = 503;
            switch (a.getErrorTypeCase()) {
                case HTTP_STATUS -> {
                    http = a.getHttpStatus();
                    if (http < 200 || http >= 600) {
                        throw Fields.invalid(ap + ".http_status", http, "200 to 599");
                    }
                }
                // Envoy answers a gRPC abort with HTTP 200 and the status in grpc-status, to any request
                case GRPC_STATUS -> { grpc = Optional.of(a.getGrpcStatus()); http = 200; }
                default -> throw new ConfigException(ap + ": no error (expected: http_status or grpc_status)");
            }
            abort = Optional.of(new FaultConfig.Abort(http, grpc, fraction(a.getPercentage(), ap + ".percentage")));
        }
        return new FaultConfig(name, delay, abort);
    }

    // Envoy: an unset percentage is the proto default, 0 (of HUNDRED)
    private static FaultConfig.Fraction fraction(FractionalPercent f, String p) {
        Fields.allowOnly(f, p, "numerator", "denominator");
        long denominator = switch (f.getDenominator()) {
            case HUNDRED -> 100;
            case TEN_THOUSAND -> 10_000;
            case MILLION -> 1_000_000;
            default -> throw Fields.invalid(p + ".denominator", f.getDenominator(), "HUNDRED, TEN_THOUSAND or MILLION");
        };
        return new FaultConfig.Fraction(f.getNumerator() & 0xffffffffL, denominator);
    }

    private static BodyLimitConfig buffer(String name, Buffer b, String p) {
        Fields.allowOnly(b, p, "max_request_bytes");
        if (!b.hasMaxRequestBytes() || b.getMaxRequestBytes().getValue() < 1) {
            throw Fields.invalid(p + ".max_request_bytes", b.getMaxRequestBytes().getValue(), "> 0");
        }
        return new BodyLimitConfig(name, b.getMaxRequestBytes().getValue() & 0xffffffffL);
    }

    private static CorsConfig.Policy cors(String name, CorsPolicy c, String p) {
        Fields.allowOnly(c, p, "allow_origin_string_match", "allow_methods", "allow_headers", "expose_headers", "max_age",
                "allow_credentials", "forward_not_matching_preflights");
        List<StringMatch> origins = new ArrayList<>();
        for (int i = 0; i < c.getAllowOriginStringMatchCount(); i++) {
            origins.add(RouteConfigTranslator.stringMatch(c.getAllowOriginStringMatch(i), p + ".allow_origin_string_match[" + i + "]"));
        }
        if (!c.getMaxAge().isEmpty() && !c.getMaxAge().matches("\\d+")) {
            throw Fields.invalid(p + ".max_age", "'" + c.getMaxAge() + "'", "seconds as digits");
        }
        return new CorsConfig.Policy(name, origins, c.getAllowMethods(), c.getAllowHeaders(), c.getExposeHeaders(),
                c.getMaxAge().isEmpty() ? Optional.empty() : Optional.of(c.getMaxAge()),
                c.hasAllowCredentials() && c.getAllowCredentials().getValue(),
                !c.hasForwardNotMatchingPreflights() || c.getForwardNotMatchingPreflights().getValue());
    }

    private static LocalRateLimitConfig rateLimit(String name, LocalRateLimit r, String p) {
        Fields.allowOnly(r, p, "stat_prefix", "token_bucket", "filter_enabled", "filter_enforced", "rate_limits",
                "max_dynamic_descriptors", "enable_x_ratelimit_headers");
        if (r.getStatPrefix().isEmpty()) {
            throw Fields.invalid(p + ".stat_prefix", "''", "a name");
        }
        // Envoy: without filter_enabled and filter_enforced at 100% the filter does nothing
        boolean enabled = percent(r.hasFilterEnabled(), r.getFilterEnabled(), p + ".filter_enabled")
                && percent(r.hasFilterEnforced(), r.getFilterEnforced(), p + ".filter_enforced");
        if (!enabled) {
            return new LocalRateLimitConfig(name, r.getStatPrefix(), 0, 0, Duration.ZERO, new LocalRateLimitConfig.Global(),
                    0, false, true);
        }
        if (!r.hasTokenBucket()) {
            throw new ConfigException(p + ".token_bucket: missing (expected: max_tokens, tokens_per_fill, fill_interval)");
        }
        var tb = r.getTokenBucket();
        Fields.allowOnly(tb, p + ".token_bucket", "max_tokens", "tokens_per_fill", "fill_interval");
        if (!tb.hasFillInterval()) {
            throw new ConfigException(p + ".token_bucket.fill_interval: missing (expected: a duration >= 50ms)");
        }
        long perFill = tb.hasTokensPerFill() ? tb.getTokensPerFill().getValue() & 0xffffffffL : 1;
        LocalRateLimitConfig.Key key = new LocalRateLimitConfig.Global();
        if (r.getRateLimitsCount() > 1) {
            throw Fields.invalid(p + ".rate_limits", r.getRateLimitsCount() + " entries", "at most one, naming the bucket key");
        }
        if (r.getRateLimitsCount() == 1) {
            RateLimit rl = r.getRateLimits(0);
            String rp = p + ".rate_limits[0]";
            Fields.allowOnly(rl, rp, "actions");
            if (rl.getActionsCount() != 1) {
                throw Fields.invalid(rp + ".actions", rl.getActionsCount() + " actions", "exactly one: remote_address or request_headers");
            }
            RateLimit.Action a = rl.getActions(0);
            String ap = rp + ".actions[0]";
            Fields.allowOnly(a, ap, "remote_address", "request_headers");
            if (a.hasRemoteAddress()) {
                key = new LocalRateLimitConfig.ClientAddress();
            } else {
                Fields.allowOnly(a.getRequestHeaders(), ap + ".request_headers", "header_name", "descriptor_key");
                String h = a.getRequestHeaders().getHeaderName();
                if (h.isEmpty()) {
                    throw Fields.invalid(ap + ".request_headers.header_name", "''", "a header name");
                }
                key = new LocalRateLimitConfig.Header(h);
            }
        }
        int maxKeys = r.hasMaxDynamicDescriptors() ? r.getMaxDynamicDescriptors().getValue() : LocalRateLimitConfig.DEFAULT_MAX_KEYS;
        return new LocalRateLimitConfig(name, r.getStatPrefix(), tb.getMaxTokens() & 0xffffffffL, perFill,
                Fields.duration(tb.getFillInterval()), key, maxKeys,
                r.getEnableXRatelimitHeaders() == XRateLimitHeadersRFCVersion.DRAFT_VERSION_03, false);
    }

    /** Only 0% and 100% are supported: true for 100%. */
    private static boolean percent(boolean set, RuntimeFractionalPercent f, String p) {
        if (!set) {
            return false;
        }
        Fields.allowOnly(f, p, "default_value", "runtime_key");
        FractionalPercent v = f.getDefaultValue();
        long denominator = switch (v.getDenominator()) {
            case HUNDRED -> 100;
            case TEN_THOUSAND -> 10_000;
            case MILLION -> 1_000_000;
            default -> 100;
        };
        if (v.getNumerator() == 0) {
            return false;
        }
        if (v.getNumerator() != denominator) {
            throw Fields.invalid(p + ".default_value", v.getNumerator() + "/" + denominator, "0% or 100%");
        }
        return true;
    }

    private static JwtAuthnConfig jwt(String name, JwtAuthentication j, String p) {
        Fields.allowOnly(j, p, "providers", "rules", "requirement_map", "bypass_cors_preflight", "stat_prefix");
        Map<String, JwtAuthnConfig.Provider> providers = new LinkedHashMap<>();
        for (Map.Entry<String, JwtProvider> e : new java.util.TreeMap<>(j.getProvidersMap()).entrySet()) {
            providers.put(e.getKey(), provider(e.getKey(), e.getValue(), p + ".providers[" + e.getKey() + "]"));
        }
        if (providers.isEmpty()) {
            throw new ConfigException(p + ".providers: empty (expected: at least one provider)");
        }
        Map<String, JwtAuthnConfig.Requirement> named = new LinkedHashMap<>();
        for (Map.Entry<String, JwtRequirement> e : new java.util.TreeMap<>(j.getRequirementMapMap()).entrySet()) {
            named.put(e.getKey(), requirement(e.getValue(), providers, p + ".requirement_map[" + e.getKey() + "]"));
        }
        List<JwtAuthnConfig.Rule> rules = new ArrayList<>();
        for (int i = 0; i < j.getRulesCount(); i++) {
            RequirementRule r = j.getRules(i);
            String rp = p + ".rules[" + i + "]";
            Fields.allowOnly(r, rp, "match", "requires", "requirement_name");
            var match = RouteConfigTranslator.match(r.getMatch(), rp + ".match");
            Optional<JwtAuthnConfig.Requirement> req;
            if (r.hasRequires()) {
                req = Optional.of(requirement(r.getRequires(), providers, rp + ".requires"));
            } else if (!r.getRequirementName().isEmpty()) {
                JwtAuthnConfig.Requirement n = named.get(r.getRequirementName());
                if (n == null) {
                    throw Fields.invalid(rp + ".requirement_name", "'" + r.getRequirementName() + "'",
                            "a name in requirement_map: " + named.keySet());
                }
                req = Optional.of(n);
            } else {
                req = Optional.empty();
            }
            rules.add(new JwtAuthnConfig.Rule(match, req));
        }
        return new JwtAuthnConfig(name, providers, rules, named, j.getBypassCorsPreflight());
    }

    private static JwtAuthnConfig.Requirement requirement(JwtRequirement r, Map<String, JwtAuthnConfig.Provider> providers, String p) {
        Fields.allowOnly(r, p, "provider_name", "provider_and_audiences", "requires_any", "requires_all", "allow_missing",
                "allow_missing_or_failed");
        return switch (r.getRequiresTypeCase()) {
            case PROVIDER_NAME -> new JwtAuthnConfig.ProviderRequirement(known(r.getProviderName(), providers, p + ".provider_name"),
                    Optional.empty());
            case PROVIDER_AND_AUDIENCES -> {
                var pa = r.getProviderAndAudiences();
                Fields.allowOnly(pa, p + ".provider_and_audiences", "provider_name", "audiences");
                yield new JwtAuthnConfig.ProviderRequirement(known(pa.getProviderName(), providers,
                        p + ".provider_and_audiences.provider_name"), Optional.of(List.copyOf(pa.getAudiencesList())));
            }
            case REQUIRES_ANY -> new JwtAuthnConfig.RequiresAny(list(r.getRequiresAny().getRequirementsList(), providers,
                    p + ".requires_any.requirements"));
            case REQUIRES_ALL -> new JwtAuthnConfig.RequiresAll(list(r.getRequiresAll().getRequirementsList(), providers,
                    p + ".requires_all.requirements"));
            case ALLOW_MISSING -> new JwtAuthnConfig.AllowMissing();
            case ALLOW_MISSING_OR_FAILED -> new JwtAuthnConfig.AllowMissingOrFailed();
            default -> throw new ConfigException(p + ": empty (expected: provider_name, provider_and_audiences, requires_any, "
                    + "requires_all, allow_missing or allow_missing_or_failed)");
        };
    }

    private static List<JwtAuthnConfig.Requirement> list(List<JwtRequirement> rs, Map<String, JwtAuthnConfig.Provider> providers, String p) {
        if (rs.size() < 2) {
            throw Fields.invalid(p, rs.size() + " requirements", "at least 2");
        }
        List<JwtAuthnConfig.Requirement> out = new ArrayList<>();
        for (int i = 0; i < rs.size(); i++) {
            out.add(requirement(rs.get(i), providers, p + "[" + i + "]"));
        }
        return out;
    }

    private static String known(String name, Map<String, JwtAuthnConfig.Provider> providers, String p) {
        if (!providers.containsKey(name)) {
            throw Fields.invalid(p, "'" + name + "'", "one of the providers " + providers.keySet());
        }
        return name;
    }

    private static JwtAuthnConfig.Provider provider(String name, JwtProvider jp, String p) {
        Fields.allowOnly(jp, p, "issuer", "audiences", "remote_jwks", "local_jwks", "forward", "from_headers",
                "forward_payload_header", "clock_skew_seconds", "claim_to_headers", "require_expiration");
        JwtAuthnConfig.Jwks jwks;
        if (jp.hasLocalJwks()) {
            DataSource ds = jp.getLocalJwks();
            String dp = p + ".local_jwks";
            Fields.allowOnly(ds, dp, "filename", "inline_string", "inline_bytes");
            String json;
            String origin;
            switch (ds.getSpecifierCase()) {
                case FILENAME -> {
                    try {
                        json = Files.readString(Path.of(ds.getFilename()));
                    } catch (IOException e) {
                        throw Fields.invalid(dp + ".filename", "'" + ds.getFilename() + "' unreadable (" + e.getMessage() + ")",
                                "a readable JWKS file");
                    }
                    origin = dp + ".filename '" + ds.getFilename() + "'";
                }
                case INLINE_STRING -> { json = ds.getInlineString(); origin = dp + ".inline_string"; }
                case INLINE_BYTES -> { json = ds.getInlineBytes().toStringUtf8(); origin = dp + ".inline_bytes"; }
                default -> throw new ConfigException(dp + ": empty (expected: filename, inline_string or inline_bytes)");
            }
            JwksSource.parse(json, origin);
            jwks = new JwtAuthnConfig.LocalJwks(json, origin);
        } else if (jp.hasRemoteJwks()) {
            var r = jp.getRemoteJwks();
            String rp = p + ".remote_jwks";
            Fields.allowOnly(r, rp, "http_uri", "cache_duration", "async_fetch");
            Fields.allowOnly(r.getHttpUri(), rp + ".http_uri", "uri", "cluster", "timeout");
            URI uri;
            try {
                uri = URI.create(r.getHttpUri().getUri());
            } catch (IllegalArgumentException e) {
                throw Fields.invalid(rp + ".http_uri.uri", "'" + r.getHttpUri().getUri() + "'", "an https:// URL");
            }
            if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
                throw Fields.invalid(rp + ".http_uri.uri", "'" + r.getHttpUri().getUri() + "'", "an https:// URL");
            }
            Duration timeout = r.getHttpUri().hasTimeout() ? Fields.positive(r.getHttpUri().getTimeout(), rp + ".http_uri.timeout")
                    : Duration.ofSeconds(5);
            Duration cache = r.hasCacheDuration() ? Fields.positive(r.getCacheDuration(), rp + ".cache_duration") : DEFAULT_JWKS_CACHE;
            Duration refetch = DEFAULT_UNKNOWN_KID_REFETCH;
            if (r.hasAsyncFetch()) {
                // Trellis reads failed_refetch_duration as the least time between refetches for unknown kids
                Fields.allowOnly(r.getAsyncFetch(), rp + ".async_fetch", "failed_refetch_duration");
                if (r.getAsyncFetch().hasFailedRefetchDuration()) {
                    refetch = Fields.duration(r.getAsyncFetch().getFailedRefetchDuration());
                }
            }
            String cluster = r.getHttpUri().getCluster();
            jwks = new JwtAuthnConfig.RemoteJwks(uri, cluster.isEmpty() ? Optional.empty() : Optional.of(cluster), timeout, cache,
                    refetch, Optional.empty());
        } else {
            throw new ConfigException(p + ": no key set (expected: local_jwks or remote_jwks)");
        }
        List<JwtAuthnConfig.TokenHeader> from = new ArrayList<>();
        for (int i = 0; i < jp.getFromHeadersCount(); i++) {
            var h = jp.getFromHeaders(i);
            Fields.allowOnly(h, p + ".from_headers[" + i + "]", "name", "value_prefix");
            from.add(new JwtAuthnConfig.TokenHeader(h.getName(), h.getValuePrefix()));
        }
        List<JwtAuthnConfig.ClaimToHeader> claims = new ArrayList<>();
        for (int i = 0; i < jp.getClaimToHeadersCount(); i++) {
            var c = jp.getClaimToHeaders(i);
            Fields.allowOnly(c, p + ".claim_to_headers[" + i + "]", "header_name", "claim_name");
            claims.add(new JwtAuthnConfig.ClaimToHeader(c.getHeaderName(), c.getClaimName()));
        }
        // Envoy: 0 (unset) means the default of 60 seconds
        Duration skew = Duration.ofSeconds(jp.getClockSkewSeconds() == 0 ? 60 : jp.getClockSkewSeconds() & 0xffffffffL);
        return new JwtAuthnConfig.Provider(name, jp.getIssuer().isEmpty() ? Optional.empty() : Optional.of(jp.getIssuer()),
                jp.getAudiencesList(), jwks, jp.getForward(), from,
                jp.getForwardPayloadHeader().isEmpty() ? Optional.empty() : Optional.of(jp.getForwardPayloadHeader()),
                claims, skew, jp.getRequireExpiration());
    }
}
