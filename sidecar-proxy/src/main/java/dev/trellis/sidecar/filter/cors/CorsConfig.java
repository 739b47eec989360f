package dev.trellis.sidecar.filter.cors;

import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.config.StringMatch;
import java.util.List;
import java.util.Optional;

/** CORS: the filter ({@code envoy.filters.http.cors}) and the per-route {@link Policy} it applies. */
public final class CorsConfig {
    private CorsConfig() {}

    /** The filter in the chain; it does nothing on routes without a {@link Policy}. */
    public record Filter(String name) implements HttpFilterConfig {}

    /**
     * Envoy's {@code CorsPolicy} on a route ({@code typed_per_filter_config}): allowed origins,
     * methods, headers, exposed headers, max age and credentials. Preflights from an allowed origin
     * are answered by the proxy; others go upstream when {@code forwardNotMatchingPreflights}.
     */
    public record Policy(String name, List<StringMatch> allowOrigins, String allowMethods, String allowHeaders,
                         String exposeHeaders, Optional<String> maxAge, boolean allowCredentials,
                         boolean forwardNotMatchingPreflights) implements HttpFilterConfig {
        public Policy {
            allowOrigins = List.copyOf(allowOrigins);
        }

        public boolean allows(String origin) {
            for (StringMatch m : allowOrigins) {
                if (m.kind() == StringMatch.Kind.EXACT && m.value().equals("*")) {
                    return true;
                }
                if (m.matches(origin)) {
                    return true;
                }
            }
            return false;
        }
    }
}
