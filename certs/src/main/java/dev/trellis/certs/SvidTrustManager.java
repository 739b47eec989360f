package dev.trellis.certs;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.trellis.certs.SvidValidator.PeerRole;

/**
 * A JSSE trust manager that applies {@link SvidValidator} to every peer, so the OpenSSL and the
 * JDK provider (and grpc's {@code TlsServerCredentials}) refuse exactly the same certificates.
 * Hostname verification is replaced by the SPIFFE ID check. Each refusal is logged once with its
 * reason and rethrown as {@link SvidValidationException}.
 */
public final class SvidTrustManager extends X509ExtendedTrustManager {
    private static final Logger log = LoggerFactory.getLogger(SvidTrustManager.class);

    private final SvidValidator validator;
    private final Set<SpiffeId> allowedPeers;

    /**
     * @param allowedPeers the IDs a peer may have (for a client: the destination service's); empty
     *     accepts any ID of the trust domain
     */
    public SvidTrustManager(SvidValidator validator, Set<SpiffeId> allowedPeers) {
        this.validator = Objects.requireNonNull(validator, "validator");
        this.allowedPeers = Set.copyOf(allowedPeers);
    }

    public Set<SpiffeId> allowedPeers() {
        return allowedPeers;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, PeerRole.CLIENT, peer(engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, PeerRole.SERVER, peer(engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, PeerRole.CLIENT, socket == null ? "?" : String.valueOf(socket.getRemoteSocketAddress()));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, PeerRole.SERVER, socket == null ? "?" : String.valueOf(socket.getRemoteSocketAddress()));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, PeerRole.CLIENT, "?");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, PeerRole.SERVER, "?");
    }

    /**
     * Empty on purpose: a server that names its CAs in the certificate request makes a client with
     * a foreign certificate send none, and the refusal would read "no certificate" instead of
     * "unknown CA". Workloads hold one certificate, so there is nothing to choose between.
     */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }

    private void check(X509Certificate[] chain, PeerRole role, String peer) throws SvidValidationException {
        try {
            SpiffeId id = validator.validate(chain == null ? null : Arrays.asList(chain), role, allowedPeers);
            log.debug("mTLS {} certificate of {} accepted: {}", role == PeerRole.CLIENT ? "client" : "server", peer, id);
        } catch (SvidValidationException e) {
            log.warn("mTLS {} certificate of {} refused: {}", role == PeerRole.CLIENT ? "client" : "server", peer, e.getMessage());
            throw e;
        }
    }

    private static String peer(SSLEngine engine) {
        return engine == null || engine.getPeerHost() == null ? "?" : engine.getPeerHost() + ":" + engine.getPeerPort();
    }
}
