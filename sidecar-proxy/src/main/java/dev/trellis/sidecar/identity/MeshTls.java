package dev.trellis.sidecar.identity;

import dev.trellis.certs.SpiffeId;
import io.netty.handler.ssl.SslContext;
import java.util.Set;

/**
 * The sidecar's mesh TLS: what the SDS secret names {@code default} and {@code ROOTCA} resolve to.
 * The contexts returned follow certificate renewals and bundle changes: each new connection uses
 * the current certificate; open connections keep theirs.
 */
public interface MeshTls {
    /** Inbound: the workload certificate; clients checked against the bundle (required when {@code requireClientCertificate}). */
    SslContext inbound(boolean requireClientCertificate);

    /**
     * Outbound: presents the workload certificate and accepts a server with one of {@code allowedServers}
     * (empty: any of the trust domain). ALPN offers only the pool's protocol ({@code h2} or {@code http/1.1}).
     */
    SslContext outbound(Set<SpiffeId> allowedServers, boolean http2);
}
