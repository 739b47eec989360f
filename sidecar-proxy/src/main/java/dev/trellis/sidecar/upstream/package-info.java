/**
 * Connection pools per endpoint and event loop, and the upstream side of a proxied stream.
 * HTTP/1.1 pools reuse keep-alive connections up to a bound; HTTP/2 pools multiplex streams
 * over as few connections as the peer's {@code SETTINGS_MAX_CONCURRENT_STREAMS} allows.
 */
package dev.trellis.sidecar.upstream;
