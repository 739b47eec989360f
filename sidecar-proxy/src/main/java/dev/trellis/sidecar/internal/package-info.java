/** Plumbing with no public contract: transports and TLS contexts. */
package dev.trellis.sidecar.internal;
