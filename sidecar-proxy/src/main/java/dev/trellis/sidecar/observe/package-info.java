/**
 * Per-request telemetry: Prometheus metrics, JSON access logs and OpenTelemetry tracing, fed by
 * the {@link dev.trellis.sidecar.error.StreamObserver} hooks of each listener.
 */
package dev.trellis.sidecar.observe;
