package dev.trellis.sidecar.config;

import java.util.Optional;

/** A listener: where to accept, optional TLS, and the HTTP connection manager behind it. */
public record ListenerConfig(String name, SocketAddr address, HttpConnectionManagerConfig http,
                             Optional<TlsConfig.Downstream> tls) {}
