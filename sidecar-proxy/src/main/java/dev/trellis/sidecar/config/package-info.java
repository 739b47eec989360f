/**
 * The sidecar's own immutable configuration model. Bootstrap files and xDS resources are
 * translated into these records once, at the edge ({@code config.envoy}); nothing past that
 * edge touches protobuf.
 */
package dev.trellis.sidecar.config;
