package dev.trellis.sidecar.config;

/**
 * The immutable config of one HTTP filter in a connection manager's chain (or of its per-route
 * override), named as in Envoy's {@code http_filters[].name}. Built at the edge from protobuf.
 */
public interface HttpFilterConfig {
    /** The filter's name in the chain; per-route overrides are keyed by it. */
    String name();

    /** Envoy's router: always last, and not instantiated as a filter (the router ends the chain). */
    record Router(String name) implements HttpFilterConfig {}
}
