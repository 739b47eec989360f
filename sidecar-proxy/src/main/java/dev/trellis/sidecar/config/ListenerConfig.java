package dev.trellis.sidecar.config;

import java.util.Optional;

/**
 * A listener: where to accept, optional TLS, the HTTP connection manager behind it, and its
 * telemetry (traffic direction, access logs, tracing). With {@code permissive} (and TLS) a
 * connection whose first bytes are not a TLS ClientHello is served as plaintext on the same port
 * (PERMISSIVE mTLS); such a peer has no verified identity.
 */
public record ListenerConfig(String name, SocketAddr address, HttpConnectionManagerConfig http,
                             Optional<TlsConfig.Downstream> tls, boolean permissive, TelemetryConfig telemetry) {
    /** A listener that takes only what its TLS setting says, without access logs or tracing. */
    public ListenerConfig(String name, SocketAddr address, HttpConnectionManagerConfig http,
                          Optional<TlsConfig.Downstream> tls) {
        this(name, address, http, tls, false, TelemetryConfig.NONE);
    }

    /** A listener without access logs or tracing. */
    public ListenerConfig(String name, SocketAddr address, HttpConnectionManagerConfig http,
                          Optional<TlsConfig.Downstream> tls, boolean permissive) {
        this(name, address, http, tls, permissive, TelemetryConfig.NONE);
    }
}
