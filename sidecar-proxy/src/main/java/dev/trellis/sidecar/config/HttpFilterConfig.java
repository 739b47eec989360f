package dev.trellis.sidecar.config;

/**
 * One entry of an {@code HttpConnectionManager}'s {@code http_filters}, translated: the router, or
 * a filter's immutable config (for example {@link dev.trellis.sidecar.filter.rbac.RbacConfig}).
 */
public interface HttpFilterConfig {
    /** The filter's name as configured ({@code envoy.filters.http.rbac}, ...). */
    String name();

    /** {@code envoy.filters.http.router}: always last, handled by the router itself. */
    record Router(String name) implements HttpFilterConfig {}
}
