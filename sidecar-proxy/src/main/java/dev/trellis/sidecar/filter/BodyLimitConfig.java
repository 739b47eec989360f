package dev.trellis.sidecar.filter;

import dev.trellis.sidecar.config.HttpFilterConfig;

/**
 * A request body limit, from Envoy's {@code envoy.filters.http.buffer} {@code max_request_bytes}
 * (or its per-route override; {@code maxRequestBytes} 0 turns it off). Unlike Envoy's buffer filter
 * the body is not held back: it streams and the request ends with 413 once it exceeds the limit
 * (at once when {@code content-length} already says so).
 */
public record BodyLimitConfig(String name, long maxRequestBytes) implements HttpFilterConfig {}
