/**
 * The HTTP connection manager: downstream codecs (HTTP/1.1, HTTP/2), limits, and the
 * per-stream {@link dev.trellis.sidecar.http.ActiveStream} that runs the filter chain and hands
 * the request to the router.
 */
package dev.trellis.sidecar.http;
