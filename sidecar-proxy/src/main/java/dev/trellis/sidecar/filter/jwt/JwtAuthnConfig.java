package dev.trellis.sidecar.filter.jwt;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.config.RouteTable;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Envoy's {@code envoy.filters.http.jwt_authn} (the subset Trellis supports): providers, rules
 * by route match, named requirements and CORS preflight bypass.
 */
public record JwtAuthnConfig(String name, Map<String, Provider> providers, List<Rule> rules,
                             Map<String, Requirement> requirementMap, boolean bypassCorsPreflight)
        implements HttpFilterConfig {
    /** The header a verified token's {@code sub} goes to when a provider names no claim headers. */
    public static final String DEFAULT_SUBJECT_HEADER = "x-jwt-sub";

    public JwtAuthnConfig {
        providers = Map.copyOf(providers);
        rules = List.copyOf(rules);
        requirementMap = Map.copyOf(requirementMap);
    }

    /** One issuer's tokens: where they are, how they are checked, what is forwarded. */
    public record Provider(String name, Optional<String> issuer, List<String> audiences, Jwks jwks, boolean forward,
                           List<TokenHeader> fromHeaders, Optional<String> forwardPayloadHeader,
                           List<ClaimToHeader> claimToHeaders, Duration clockSkew, boolean requireExpiration) {
        public Provider {
            audiences = List.copyOf(audiences);
            fromHeaders = fromHeaders.isEmpty() ? List.of(new TokenHeader("authorization", "Bearer ")) : List.copyOf(fromHeaders);
            claimToHeaders = claimToHeaders.isEmpty() ? List.of(new ClaimToHeader(DEFAULT_SUBJECT_HEADER, "sub"))
                    : List.copyOf(claimToHeaders);
            if (clockSkew.isNegative()) {
                throw new ConfigException("provider '" + name + "': clock_skew_seconds " + clockSkew.getSeconds()
                        + " (expected: >= 0)");
            }
        }
    }

    /** A header that carries the token, after {@code valuePrefix} (such as {@code "Bearer "}). */
    public record TokenHeader(String name, String valuePrefix) {
        public TokenHeader {
            name = name.toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Copies a claim of a verified token into a request header. */
    public record ClaimToHeader(String headerName, String claimName) {
        public ClaimToHeader {
            headerName = headerName.toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Where a provider's keys come from. */
    public sealed interface Jwks permits LocalJwks, RemoteJwks {}

    /** A JWKS given inline or read from a file at load time ({@code local_jwks}). */
    public record LocalJwks(String json, String origin) implements Jwks {}

    /**
     * A JWKS fetched over HTTPS ({@code remote_jwks}): cached for {@code cacheDuration} and refreshed
     * after it; a token with an unknown {@code kid} triggers a refetch at most once per
     * {@code minRefetchInterval}. {@code cluster} names the cluster whose {@code trusted_ca} verifies
     * the server (the JDK's trust store otherwise).
     */
    public record RemoteJwks(URI uri, Optional<String> cluster, Duration timeout, Duration cacheDuration,
                             Duration minRefetchInterval, Optional<Path> trustedCa) implements Jwks {
        public RemoteJwks withTrustedCa(Optional<Path> ca) {
            return new RemoteJwks(uri, cluster, timeout, cacheDuration, minRefetchInterval, ca);
        }
    }

    /** Envoy's {@code JwtRequirement}. */
    public sealed interface Requirement permits ProviderRequirement, RequiresAny, RequiresAll, AllowMissing,
            AllowMissingOrFailed {}

    /** A token from this provider (optionally with other audiences than the provider's). */
    public record ProviderRequirement(String provider, Optional<List<String>> audiences) implements Requirement {}

    /** One of these requirements. */
    public record RequiresAny(List<Requirement> requirements) implements Requirement {}

    /** All of these requirements. */
    public record RequiresAll(List<Requirement> requirements) implements Requirement {}

    /** Passes without a token; a token that is present must be valid. */
    public record AllowMissing() implements Requirement {}

    /** Always passes; valid tokens are still forwarded as headers. */
    public record AllowMissingOrFailed() implements Requirement {}

    /** A rule: requests matching {@code match} need {@code requirement} (empty: none). */
    public record Rule(RouteTable.Match match, Optional<Requirement> requirement) {}

    /** Envoy's {@code PerRouteConfig}: turn the filter off for a route, or pick a named requirement. */
    public record PerRoute(String name, boolean disabled, Optional<String> requirementName) implements HttpFilterConfig {}

    /**
     * Claims a route needs from a verified token (403 when missing): scopes from the {@code scope}
     * (space separated) or {@code scp} claim, and exact claim values. Read from the route's
     * {@code metadata.filter_metadata["trellis.jwt_authn"]}; keyed by {@link #KEY} on the route.
     */
    public record RouteClaims(List<String> requiredScopes, Map<String, String> requiredClaims) implements HttpFilterConfig {
        public static final String KEY = "trellis.jwt_authn";

        public RouteClaims {
            requiredScopes = List.copyOf(requiredScopes);
            requiredClaims = Map.copyOf(requiredClaims);
        }

        @Override
        public String name() {
            return KEY;
        }
    }
}
