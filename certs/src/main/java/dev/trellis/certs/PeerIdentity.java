package dev.trellis.certs;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;

import dev.trellis.certs.internal.X509s;

/**
 * The verified SPIFFE ID of the peer of a TLS connection, for authorization, metrics and logs.
 * Read it after the handshake completed; the trust manager has already validated the chain.
 */
public final class PeerIdentity {
    /** Where {@link #of(Channel)} caches the ID on the connection's channel. */
    public static final AttributeKey<SpiffeId> PEER_ID = AttributeKey.valueOf(PeerIdentity.class, "peerSpiffeId");

    private PeerIdentity() {}

    /** The peer's SPIFFE ID from a handshaken session; empty when the peer sent no certificate. */
    public static Optional<SpiffeId> fromSession(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        Certificate[] certs;
        try {
            certs = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
        if (certs == null || certs.length == 0 || !(certs[0] instanceof X509Certificate leaf)) {
            return Optional.empty();
        }
        var uris = X509s.uriSans(leaf);
        if (uris.size() != 1) {
            return Optional.empty();
        }
        try {
            return Optional.of(SpiffeId.parse(uris.get(0)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * The peer's SPIFFE ID for a connection or one of its child channels (HTTP/2 streams): found
     * through the {@link SslHandler} of the nearest channel that has one, then cached on it.
     */
    public static Optional<SpiffeId> of(Channel channel) {
        for (Channel c = channel; c != null; c = c.parent()) {
            SpiffeId cached = c.attr(PEER_ID).get();
            if (cached != null) {
                return Optional.of(cached);
            }
            SslHandler ssl = c.pipeline().get(SslHandler.class);
            if (ssl != null) {
                if (!ssl.handshakeFuture().isSuccess()) {
                    return Optional.empty();
                }
                Optional<SpiffeId> id = fromSession(ssl.engine().getSession());
                Channel owner = c;
                id.ifPresent(v -> owner.attr(PEER_ID).set(v));
                return id;
            }
        }
        return Optional.empty();
    }
}
