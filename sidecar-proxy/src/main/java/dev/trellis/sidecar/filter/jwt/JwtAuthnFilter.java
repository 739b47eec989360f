package dev.trellis.sidecar.filter.jwt;

import com.nimbusds.jwt.JWTClaimsSet;
import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.filter.HttpFilter;
import dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.ClaimToHeader;
import dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.Provider;
import dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.Requirement;
import dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.TokenHeader;
import dev.trellis.sidecar.router.RouteMatcher;
import io.netty.handler.codec.http2.Http2Headers;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * JWT authentication ({@code envoy.filters.http.jwt_authn}): finds the requirement of the request
 * (per-route override, else the first matching rule), checks tokens against it, forwards claims as
 * headers and answers 401 ({@code WWW-Authenticate: Bearer error="invalid_token"}) or, when a route
 * needs scopes or claims the token lacks, 403. While a provider's remote keys are not loaded, or a
 * token names an unknown {@code kid}, the stream waits for the fetch (refetches are rate limited).
 */
public final class JwtAuthnFilter implements HttpFilter {
    private final Shared shared;

    private JwtAuthnFilter(Shared shared) {
        this.shared = shared;
    }

    /** A factory with each provider's key source resolved by {@code jwks}. */
    public static FilterFactory factory(JwtAuthnConfig config, Map<String, JwksSource> jwks, Clock clock) {
        Shared s = new Shared(config, Map.copyOf(jwks), clock);
        return () -> new JwtAuthnFilter(s);
    }

    private record Shared(JwtAuthnConfig config, Map<String, JwksSource> jwks, Clock clock) {
        Set<String> strippedHeaders() {
            Set<String> out = new HashSet<>();
            for (Provider p : config.providers().values()) {
                p.claimToHeaders().forEach(c -> out.add(c.headerName()));
                p.forwardPayloadHeader().ifPresent(out::add);
            }
            return out;
        }
    }

    /** A verified token and where it came from. */
    private record Ok(Provider provider, TokenHeader from, JWTClaimsSet claims, String payload) {}

    /** The outcome of a requirement: passed (with the tokens verified), missing, or failed. */
    private record Outcome(boolean passed, boolean missing, String reason, List<Ok> verified, Set<String> needKeys,
                           Set<String> unknownKid) {
        static Outcome pass(List<Ok> ok) {
            return new Outcome(true, false, null, ok, Set.of(), Set.of());
        }
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers h, Context ctx) {
        for (String name : shared.strippedHeaders()) {
            h.remove(name);
        }
        Requirement req = requirement(h, ctx);
        if (req == null) {
            return null;
        }
        if (shared.config().bypassCorsPreflight() && "OPTIONS".contentEquals(h.method()) && h.contains("origin")
                && h.contains("access-control-request-method")) {
            return null;
        }
        return decide(h, ctx, req, true);
    }

    private ErrorResponder.LocalReply decide(Http2Headers h, Context ctx, Requirement req, boolean mayFetch) {
        Outcome o = evaluate(req, h);
        if (mayFetch && (!o.needKeys().isEmpty() || !o.unknownKid().isEmpty())) {
            List<CompletableFuture<?>> waits = new ArrayList<>();
            for (String p : o.needKeys()) {
                waits.add(shared.jwks().get(p).loaded());
            }
            for (String p : o.unknownKid()) {
                CompletableFuture<?> f = shared.jwks().get(p).refetchForUnknownKid();
                if (f != null) {
                    waits.add(f);
                }
            }
            if (!waits.isEmpty()) {
                CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).whenComplete((v, e) ->
                        ctx.executor().execute(() -> {
                            if (!ctx.info().ended()) {
                                ctx.resume(decide(h, ctx, req, false));
                            }
                        }));
                return PAUSE;
            }
        }
        if (!o.passed()) {
            String reason = o.missing() ? "Jwt is missing" : o.reason();
            return ErrorResponder.bearerChallenge(401, "invalid_token", reason, ctx.info().grpc(), ctx.info());
        }
        for (Ok ok : o.verified()) {
            forward(ok, h);
        }
        RouteMatcher.Match m = ctx.route();
        HttpFilterConfig rc = m == null ? null : m.route().filterConfig(JwtAuthnConfig.RouteClaims.KEY);
        if (rc instanceof JwtAuthnConfig.RouteClaims claims) {
            if (o.verified().isEmpty()) {
                return ErrorResponder.bearerChallenge(401, "invalid_token", "Jwt is missing", ctx.info().grpc(), ctx.info());
            }
            String missing = missingClaim(claims, o.verified());
            if (missing != null) {
                return ErrorResponder.bearerChallenge(403, "insufficient_scope", missing, ctx.info().grpc(), ctx.info());
            }
        }
        return null;
    }

    /** The requirement for this request: the route's override, else the first matching rule. */
    private Requirement requirement(Http2Headers h, Context ctx) {
        JwtAuthnConfig c = shared.config();
        RouteMatcher.Match m = ctx.route();
        HttpFilterConfig per = m == null ? null : m.route().filterConfig(c.name());
        if (per instanceof JwtAuthnConfig.PerRoute pr) {
            if (pr.disabled()) {
                return null;
            }
            return c.requirementMap().get(pr.requirementName().orElseThrow());
        }
        String full = h.path() == null ? "/" : h.path().toString();
        int q = full.indexOf('?');
        String path = q < 0 ? full : full.substring(0, q);
        String query = q < 0 ? "" : full.substring(q + 1);
        for (JwtAuthnConfig.Rule r : c.rules()) {
            if (RouteMatcher.matches(r.match(), path, query, h)) {
                return r.requirement().orElse(null);
            }
        }
        return null;
    }

    private Outcome evaluate(Requirement req, Http2Headers h) {
        if (req instanceof JwtAuthnConfig.ProviderRequirement pr) {
            return provider(shared.config().providers().get(pr.provider()), pr.audiences().orElse(null), h);
        }
        if (req instanceof JwtAuthnConfig.RequiresAny any) {
            Outcome firstFailure = null;
            Set<String> need = new HashSet<>();
            Set<String> unknown = new HashSet<>();
            for (Requirement r : any.requirements()) {
                Outcome o = evaluate(r, h);
                if (o.passed()) {
                    return o;
                }
                need.addAll(o.needKeys());
                unknown.addAll(o.unknownKid());
                if (!o.missing() && firstFailure == null) {
                    firstFailure = o;
                }
            }
            Outcome base = firstFailure != null ? firstFailure : new Outcome(false, true, null, List.of(), Set.of(), Set.of());
            return new Outcome(false, base.missing(), base.reason(), List.of(), need, unknown);
        }
        if (req instanceof JwtAuthnConfig.RequiresAll all) {
            List<Ok> oks = new ArrayList<>();
            for (Requirement r : all.requirements()) {
                Outcome o = evaluate(r, h);
                if (!o.passed()) {
                    return o;
                }
                oks.addAll(o.verified());
            }
            return Outcome.pass(oks);
        }
        boolean allowFailed = req instanceof JwtAuthnConfig.AllowMissingOrFailed;
        List<Ok> oks = new ArrayList<>();
        Set<String> need = new HashSet<>();
        Set<String> unknown = new HashSet<>();
        for (Provider p : shared.config().providers().values()) {
            Outcome o = provider(p, null, h);
            if (o.passed()) {
                oks.addAll(o.verified());
            } else if (!o.missing() && !allowFailed) {
                return o;
            }
            need.addAll(o.needKeys());
            unknown.addAll(o.unknownKid());
        }
        return new Outcome(true, false, null, oks, allowFailed ? Set.of() : need, allowFailed ? Set.of() : unknown);
    }

    private Outcome provider(Provider p, List<String> audiences, Http2Headers h) {
        for (TokenHeader th : p.fromHeaders()) {
            CharSequence v = h.get(th.name());
            if (v == null) {
                continue;
            }
            String s = v.toString();
            if (!s.regionMatches(true, 0, th.valuePrefix(), 0, th.valuePrefix().length())) {
                continue;
            }
            String token = s.substring(th.valuePrefix().length()).trim();
            if (token.isEmpty()) {
                continue;
            }
            JwksSource src = shared.jwks().get(p.name());
            var keys = src.current();
            if (keys == null) {
                return new Outcome(false, false, "Jwks remote fetch is failed", List.of(), Set.of(p.name()), Set.of());
            }
            JwtVerifier.Result r = JwtVerifier.verify(token, p, audiences, keys, shared.clock().millis());
            if (r instanceof JwtVerifier.Verified ok) {
                return Outcome.pass(List.of(new Ok(p, th, ok.claims(), ok.payload())));
            }
            JwtVerifier.Failed f = (JwtVerifier.Failed) r;
            return new Outcome(false, false, f.reason(), List.of(), Set.of(), f.unknownKid() ? Set.of(p.name()) : Set.of());
        }
        return new Outcome(false, true, null, List.of(), Set.of(), Set.of());
    }

    private static void forward(Ok ok, Http2Headers h) {
        if (!ok.provider().forward()) {
            h.remove(ok.from().name());
        }
        ok.provider().forwardPayloadHeader().ifPresent(name -> h.set(name, ok.payload()));
        for (ClaimToHeader c : ok.provider().claimToHeaders()) {
            String v = claimString(ok.claims().getClaim(c.claimName()));
            if (v != null) {
                h.set(c.headerName(), v);
            }
        }
    }

    static String claimString(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof List<?> l) {
            return l.stream().map(String::valueOf).collect(Collectors.joining(","));
        }
        if (v instanceof java.util.Date d) {
            return Long.toString(d.getTime() / 1000);
        }
        if (v instanceof Map<?, ?>) {
            return null;
        }
        String s = String.valueOf(v);
        // header values must not carry control characters
        return s.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f) ? null : s;
    }

    /** The first required scope or claim that no verified token has, described; {@code null} when all are there. */
    private static String missingClaim(JwtAuthnConfig.RouteClaims rc, List<Ok> verified) {
        Set<String> scopes = new HashSet<>();
        Map<String, Set<String>> values = new LinkedHashMap<>();
        for (Ok ok : verified) {
            Object scope = ok.claims().getClaim("scope");
            if (scope instanceof String s) {
                scopes.addAll(Arrays.asList(s.trim().split("\\s+")));
            }
            Object scp = ok.claims().getClaim("scp");
            if (scp instanceof List<?> l) {
                l.forEach(x -> scopes.add(String.valueOf(x)));
            } else if (scp instanceof String s) {
                scopes.addAll(Arrays.asList(s.trim().split("\\s+")));
            }
            for (String name : rc.requiredClaims().keySet()) {
                Object v = ok.claims().getClaim(name);
                Set<String> set = values.computeIfAbsent(name, k -> new HashSet<>());
                if (v instanceof List<?> l) {
                    l.forEach(x -> set.add(String.valueOf(x)));
                } else if (v != null) {
                    set.add(String.valueOf(v));
                }
            }
        }
        for (String s : rc.requiredScopes()) {
            if (!scopes.contains(s)) {
                return "Jwt lacks scope '" + s + "'";
            }
        }
        for (Map.Entry<String, String> e : rc.requiredClaims().entrySet()) {
            if (!values.getOrDefault(e.getKey(), Set.of()).contains(e.getValue())) {
                return "Jwt lacks claim " + e.getKey() + "=" + e.getValue();
            }
        }
        return null;
    }
}
