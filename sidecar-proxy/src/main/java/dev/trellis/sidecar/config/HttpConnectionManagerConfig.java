package dev.trellis.sidecar.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code HttpConnectionManager}: codec, limits and timeouts of downstream connections, the
 * HTTP filters (ending with the router) and the route table.
 */
public record HttpConnectionManagerConfig(
        String statPrefix,
        CodecType codecType,
        RouteTable routes,
        List<HttpFilterConfig> httpFilters,
        Optional<Duration> idleTimeout,
        int maxHeadersCount,
        int maxRequestHeadersBytes,
        Optional<Duration> streamIdleTimeout,
        Optional<Duration> requestTimeout,
        Optional<Duration> requestHeadersTimeout,
        boolean generateRequestId,
        int maxConcurrentStreams,
        PathNormalization pathNormalization,
        int xffNumTrustedHops) {

    /** Envoy's {@code codec_type}. */
    public enum CodecType { AUTO, HTTP1, HTTP2 }

    /** The filters before the router, in order. */
    public List<HttpFilterConfig> filtersBeforeRouter() {
        return httpFilters.stream().filter(f -> !(f instanceof HttpFilterConfig.Router)).toList();
    }

    /** The same connection manager over another route table. */
    public HttpConnectionManagerConfig withRoutes(RouteTable next) {
        return new HttpConnectionManagerConfig(statPrefix, codecType, next, httpFilters, idleTimeout, maxHeadersCount,
                maxRequestHeadersBytes, streamIdleTimeout, requestTimeout, requestHeadersTimeout, generateRequestId,
                maxConcurrentStreams, pathNormalization, xffNumTrustedHops);
    }

    public HttpConnectionManagerConfig {
        httpFilters = List.copyOf(httpFilters);
        if (maxHeadersCount < 1) {
            throw new ConfigException("max_headers_count: " + maxHeadersCount + " (expected: > 0)");
        }
        if (xffNumTrustedHops < 0) {
            throw new ConfigException("xff_num_trusted_hops: " + xffNumTrustedHops + " (expected: >= 0)");
        }
    }
}
