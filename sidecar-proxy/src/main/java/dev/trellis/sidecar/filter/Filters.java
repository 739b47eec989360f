package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HttpConnectionManagerConfig;
import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.filter.cors.CorsConfig;
import dev.trellis.sidecar.filter.cors.CorsFilter;
import dev.trellis.sidecar.filter.jwt.JwksSource;
import dev.trellis.sidecar.filter.jwt.JwtAuthnConfig;
import dev.trellis.sidecar.filter.jwt.JwtAuthnFilter;
import dev.trellis.sidecar.filter.ratelimit.LocalRateLimitConfig;
import dev.trellis.sidecar.filter.ratelimit.LocalRateLimitFilter;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/** Builds a connection manager's filter chain (before the router) from its config. */
public final class Filters {
    private Filters() {}

    /**
     * Request id and forwarded headers first, then the configured filters in order. {@code clusters}
     * resolves a remote JWKS's cluster (its trusted CA); {@code nanoTime} drives rate limits.
     */
    public static List<FilterFactory> chain(HttpConnectionManagerConfig c, Map<String, Cluster> clusters,
                                            LongSupplier nanoTime, Clock clock) {
        List<FilterFactory> out = new ArrayList<>();
        out.add(RequestIdFilter.factory(c.generateRequestId()));
        out.add(ForwardedHeadersFilter.factory(c.xffNumTrustedHops()));
        for (HttpFilterConfig f : c.filtersBeforeRouter()) {
            out.add(factory(f, c, clusters, nanoTime, clock));
        }
        return List.copyOf(out);
    }

    private static FilterFactory factory(HttpFilterConfig f, HttpConnectionManagerConfig c, Map<String, Cluster> clusters,
                                         LongSupplier nanoTime, Clock clock) {
        if (f instanceof dev.trellis.sidecar.filter.rbac.RbacConfig rbac) {
            return dev.trellis.sidecar.filter.rbac.RbacFilter.factory(rbac);
        }
        if (f instanceof JwtAuthnConfig j) {
            Map<String, JwksSource> sources = new LinkedHashMap<>();
            j.providers().forEach((name, p) -> sources.put(name, source(p, clusters)));
            return JwtAuthnFilter.factory(j, sources, clock);
        }
        if (f instanceof LocalRateLimitConfig r) {
            return LocalRateLimitFilter.factory(r, c.routes(), nanoTime);
        }
        if (f instanceof CorsConfig.Filter cf) {
            return CorsFilter.factory(cf);
        }
        if (f instanceof BodyLimitConfig b) {
            return BodyLimitFilter.factory(b);
        }
        if (f instanceof dev.trellis.sidecar.filter.fault.FaultConfig fc) {
            return dev.trellis.sidecar.filter.fault.FaultFilter.factory(fc);
        }
        throw new ConfigException("http filter '" + f.name() + "': " + f.getClass().getSimpleName()
                + " has no implementation (expected: rbac, jwt_authn, local_ratelimit, cors, buffer, fault or the router)");
    }

    private static JwksSource source(JwtAuthnConfig.Provider p, Map<String, Cluster> clusters) {
        if (p.jwks() instanceof JwtAuthnConfig.LocalJwks l) {
            return JwksSource.local(JwksSource.parse(l.json(), l.origin()));
        }
        JwtAuthnConfig.RemoteJwks r = (JwtAuthnConfig.RemoteJwks) p.jwks();
        if (r.trustedCa().isEmpty() && r.cluster().isPresent()) {
            Cluster cl = clusters.get(r.cluster().get());
            if (cl != null && cl.config().tls().isPresent()) {
                r = r.withTrustedCa(cl.config().tls().get().trustedCa());
            }
        }
        return JwksSource.remote(r);
    }
}
