/**
 * Per-stream HTTP filters. A {@link dev.trellis.sidecar.filter.FilterFactory} holds immutable
 * config and makes one {@link dev.trellis.sidecar.filter.HttpFilter} per stream; the router is
 * always last and is not a filter here.
 */
package dev.trellis.sidecar.filter;
