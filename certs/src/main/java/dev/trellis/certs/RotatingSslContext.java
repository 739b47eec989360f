package dev.trellis.certs;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.SSLException;

import io.netty.handler.ssl.SslContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current mesh {@link SslContext}s of a workload, swapped atomically when its certificate is
 * renewed or its trust bundle changes. Take a context per new connection: new connections use the
 * new certificate, open connections keep the engine they started with and are not dropped.
 *
 * <p>Client contexts are per expected server ID (one per destination service), built on first use
 * and rebuilt with the next swap.
 */
public final class RotatingSslContext {
    private static final Logger log = LoggerFactory.getLogger(RotatingSslContext.class);

    private final Clock clock;
    private final TlsProvider provider;
    private final PeerAuthentication peerAuthentication;
    private final List<String> alpn;
    private final AtomicReference<Snapshot> current = new AtomicReference<>();

    private final class Snapshot {
        final CertifiedKey key;
        final TrustBundle bundle;
        final long generation;
        final SslContext server;
        final Map<Set<SpiffeId>, SslContext> clients = new ConcurrentHashMap<>();

        Snapshot(CertifiedKey key, TrustBundle bundle, long generation) throws SSLException {
            this.key = key;
            this.bundle = bundle;
            this.generation = generation;
            // Both sides are built at once so a bad key or bundle fails here, before anything is swapped.
            this.server = MeshSslContextBuilder.forServer(key, bundle).clock(clock).provider(provider)
                    .peerAuthentication(peerAuthentication).alpn(alpn).build();
            clients.put(Set.of(), buildClient(Set.of()));
        }

        SslContext client(Set<SpiffeId> allowed) {
            return clients.computeIfAbsent(allowed, ids -> {
                try {
                    return buildClient(ids);
                } catch (SSLException e) {
                    throw new IllegalStateException("cannot build client TLS context for " + ids + ": " + e.getMessage(), e);
                }
            });
        }

        private SslContext buildClient(Set<SpiffeId> allowed) throws SSLException {
            return MeshSslContextBuilder.forClient(key, bundle).clock(clock).provider(provider)
                    .allowedPeers(allowed).alpn(alpn).build();
        }
    }

    private RotatingSslContext(Builder b) throws SSLException {
        this.clock = b.clock;
        this.provider = b.provider != null ? b.provider : TlsProvider.preferred();
        this.peerAuthentication = b.peerAuthentication;
        this.alpn = b.alpn;
        current.set(new Snapshot(b.key, b.bundle, 1));
    }

    public static Builder builder(CertifiedKey key, TrustBundle bundle) {
        return new Builder(key, bundle);
    }

    /** Options of a {@link RotatingSslContext}. */
    public static final class Builder {
        private final CertifiedKey key;
        private final TrustBundle bundle;
        private Clock clock = Clock.systemUTC();
        private TlsProvider provider;
        private PeerAuthentication peerAuthentication = PeerAuthentication.STRICT;
        private List<String> alpn = MeshSslContextBuilder.DEFAULT_ALPN;

        private Builder(CertifiedKey key, TrustBundle bundle) {
            this.key = Objects.requireNonNull(key, "key");
            this.bundle = Objects.requireNonNull(bundle, "bundle");
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public Builder provider(TlsProvider provider) {
            this.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        public Builder peerAuthentication(PeerAuthentication mode) {
            this.peerAuthentication = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public Builder alpn(List<String> protocols) {
            this.alpn = List.copyOf(protocols);
            return this;
        }

        public RotatingSslContext build() throws SSLException {
            return new RotatingSslContext(this);
        }
    }

    /** The inbound context for a new connection. */
    public SslContext serverContext() {
        return current.get().server;
    }

    /** An outbound context accepting any server of the trust domain. */
    public SslContext clientContext() {
        return current.get().client(Set.of());
    }

    /** An outbound context that accepts only a server whose SPIFFE ID is {@code expectedServer}. */
    public SslContext clientContext(SpiffeId expectedServer) {
        return current.get().client(Set.of(Objects.requireNonNull(expectedServer, "expectedServer")));
    }

    /** An outbound context that accepts a server with any of {@code allowedServers} (empty: any). */
    public SslContext clientContext(Set<SpiffeId> allowedServers) {
        return current.get().client(Set.copyOf(allowedServers));
    }

    /**
     * Swaps in a renewed certificate. On failure the current contexts stay in use.
     *
     * @throws SSLException when no context can be built from {@code key}
     */
    public void update(CertifiedKey key) throws SSLException {
        Objects.requireNonNull(key, "key");
        swap(key, null);
        log.info("TLS contexts now use certificate {} (generation {})", key, generation());
    }

    /** Swaps in a new trust bundle (for example with a new root during rotation). */
    public void updateTrustBundle(TrustBundle bundle) throws SSLException {
        Objects.requireNonNull(bundle, "bundle");
        swap(null, bundle);
        log.info("TLS contexts now trust {} (generation {})", bundle, generation());
    }

    private synchronized void swap(CertifiedKey key, TrustBundle bundle) throws SSLException {
        Snapshot old = current.get();
        current.set(new Snapshot(key != null ? key : old.key, bundle != null ? bundle : old.bundle, old.generation + 1));
    }

    public CertifiedKey certifiedKey() {
        return current.get().key;
    }

    public TrustBundle trustBundle() {
        return current.get().bundle;
    }

    public TlsProvider provider() {
        return provider;
    }

    /** Counts swaps, starting at 1. */
    public long generation() {
        return current.get().generation;
    }
}
