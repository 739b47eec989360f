/**
 * The edge where Envoy v3 protobuf (from a bootstrap file now, from ADS later) becomes the
 * sidecar's own model. Each translator checks every set field against what Trellis supports and
 * refuses the rest with the field's path.
 */
package dev.trellis.sidecar.config.envoy;
