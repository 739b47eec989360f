package dev.trellis.certs;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The TLS implementation behind a mesh {@code SslContext}. */
public enum TlsProvider {
    /** BoringSSL through netty-tcnative: faster, used whenever its native library loads. */
    OPENSSL(SslProvider.OPENSSL),
    /** The JDK's own TLS: always there. */
    JDK(SslProvider.JDK);

    private static final Logger log = LoggerFactory.getLogger(TlsProvider.class);
    private static volatile TlsProvider preferred;

    private final SslProvider netty;

    TlsProvider(SslProvider netty) {
        this.netty = netty;
    }

    public SslProvider nettyProvider() {
        return netty;
    }

    public boolean isAvailable() {
        return this == JDK || OpenSsl.isAvailable();
    }

    /** {@link #OPENSSL} when netty-tcnative loads on this machine, {@link #JDK} otherwise (logged once). */
    public static TlsProvider preferred() {
        TlsProvider p = preferred;
        if (p == null) {
            if (OpenSsl.isAvailable()) {
                p = OPENSSL;
                log.info("TLS provider: OpenSSL ({})", OpenSsl.versionString());
            } else {
                p = JDK;
                Throwable cause = OpenSsl.unavailabilityCause();
                log.info("TLS provider: JDK (OpenSSL unavailable: {})", cause == null ? "unknown" : cause.toString());
            }
            preferred = p;
        }
        return p;
    }
}
