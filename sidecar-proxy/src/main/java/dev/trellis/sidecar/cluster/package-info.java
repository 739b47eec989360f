/** Clusters: their endpoints (static or from DNS), health and the load balancer that picks one. */
package dev.trellis.sidecar.cluster;
