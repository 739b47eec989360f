package dev.trellis.sidecar.filter.ratelimit;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HttpFilterConfig;
import java.time.Duration;

/**
 * A local rate limit ({@code envoy.filters.http.local_ratelimit}): a token bucket of
 * {@code maxTokens} (the burst) refilled by {@code tokensPerFill} every {@code fillInterval}, one
 * bucket per key. The key comes from the first action of {@code rate_limits[0]}: none (one bucket
 * for all), {@code remote_address} (the trusted client address) or {@code request_headers}
 * (a header's value, such as {@code x-jwt-sub} set by the JWT filter). At most {@code maxKeys}
 * buckets are kept ({@code max_dynamic_descriptors}); idle ones expire once they would be full.
 * As a per-route override, {@code disabled} turns limiting off for that route.
 */
public record LocalRateLimitConfig(String name, String statPrefix, long maxTokens, long tokensPerFill,
                                   Duration fillInterval, Key key, int maxKeys, boolean responseHeaders,
                                   boolean disabled) implements HttpFilterConfig {
    /** Default bound of the key table. */
    public static final int DEFAULT_MAX_KEYS = 10_000;

    public LocalRateLimitConfig {
        if (!disabled) {
            if (maxTokens < 1) {
                throw new ConfigException(statPrefix + ": token_bucket.max_tokens " + maxTokens + " (expected: >= 1)");
            }
            if (tokensPerFill < 1) {
                throw new ConfigException(statPrefix + ": token_bucket.tokens_per_fill " + tokensPerFill + " (expected: >= 1)");
            }
            if (fillInterval.toMillis() < 50) {
                throw new ConfigException(statPrefix + ": token_bucket.fill_interval " + fillInterval.toMillis()
                        + "ms (expected: >= 50ms)");
            }
            if (maxKeys < 1) {
                throw new ConfigException(statPrefix + ": max_dynamic_descriptors " + maxKeys + " (expected: >= 1)");
            }
        }
    }

    /** What a bucket is keyed by. */
    public sealed interface Key permits Global, ClientAddress, Header {}

    /** One bucket for every request. */
    public record Global() implements Key {}

    /** One bucket per trusted client address. */
    public record ClientAddress() implements Key {}

    /** One bucket per value of a request header; requests without it share one bucket. */
    public record Header(String name) implements Key {
        public Header {
            name = name.toLowerCase(java.util.Locale.ROOT);
        }
    }
}
