package dev.trellis.controlplane.identity;

import dev.trellis.certs.PeerIdentity;
import dev.trellis.certs.SpiffeId;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLSession;

/**
 * Puts the {@link Caller} of every call in the gRPC {@link Context}: the service of a workload
 * certificate (already checked against the bundle by the TLS handshake), else the service of a
 * valid join token in {@code authorization: Bearer <token>}. It refuses nothing itself: each
 * service decides what it needs (signing needs a caller; registration checks the caller's service).
 */
public final class AuthInterceptor implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final TokenStore tokens;
    private final Supplier<String> trustDomain;

    public AuthInterceptor(TokenStore tokens, Supplier<String> trustDomain) {
        this.tokens = tokens;
        this.trustDomain = trustDomain;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        Caller caller = identify(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION), headers.get(AUTHORIZATION));
        return Contexts.interceptCall(Context.current().withValue(Caller.KEY, caller), call, headers, next);
    }

    private static Optional<java.math.BigInteger> serial(SSLSession session) {
        try {
            return Optional.of(((java.security.cert.X509Certificate) session.getPeerCertificates()[0]).getSerialNumber());
        } catch (javax.net.ssl.SSLPeerUnverifiedException | RuntimeException e) {
            return Optional.empty();
        }
    }

    Caller identify(SSLSession session, String authorization) {
        Optional<SpiffeId> peer = PeerIdentity.fromSession(session);
        if (peer.isPresent() && peer.get().trustDomain().equals(trustDomain.get())) {
            return new Caller(Optional.of(peer.get().service()), Caller.Via.CERTIFICATE, "", serial(session));
        }
        if (authorization == null) return Caller.ANONYMOUS;
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return new Caller(Optional.empty(), Caller.Via.NONE, "authorization: not a bearer token (expected: Bearer <join token>)",
                    Optional.empty());
        }
        TokenStore.Verdict v = tokens.verify(authorization.substring(7).strip());
        return v.service().isPresent() ? new Caller(v.service(), Caller.Via.JOIN_TOKEN, "", Optional.empty())
                : new Caller(Optional.empty(), Caller.Via.NONE, v.reason(), Optional.empty());
    }
}
