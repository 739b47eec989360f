package dev.trellis.certs;

/** Whether an inbound TLS port requires a client certificate. */
public enum PeerAuthentication {
    /** A client certificate from the trust bundle is required (the default). */
    STRICT,
    /**
     * A client certificate is checked when one is sent, but clients without one are let in (the
     * sidecar also accepts plaintext on the same port in this mode).
     */
    PERMISSIVE
}
