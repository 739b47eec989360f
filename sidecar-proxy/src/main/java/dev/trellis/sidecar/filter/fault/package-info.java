/** Envoy's {@code envoy.filters.http.fault}: fixed delays and aborts for a fraction of requests. */
package dev.trellis.sidecar.filter.fault;
