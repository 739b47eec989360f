/** Local rate limiting: token buckets by key ({@code envoy.filters.http.local_ratelimit} subset). */
package dev.trellis.sidecar.filter.ratelimit;
