/** The admin server ({@code /health}, {@code /ready}, {@code /config_dump}, {@code /clusters}, {@code /metrics}, {@code /reload}) and metrics. */
package dev.trellis.sidecar.admin;
