/**
 * The router: matches a request to a virtual host and route, applies rewrites and header
 * mutations, picks the cluster and host, and streams the request to it
 * ({@link dev.trellis.sidecar.router.UpstreamRequest}).
 */
package dev.trellis.sidecar.router;
