/** CORS ({@code envoy.filters.http.cors} with route-level {@code CorsPolicy}). */
package dev.trellis.sidecar.filter.cors;
