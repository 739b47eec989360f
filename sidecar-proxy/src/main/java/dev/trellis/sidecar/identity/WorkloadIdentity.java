package dev.trellis.sidecar.identity;

import dev.trellis.certs.CertificateRequest;
import dev.trellis.certs.CertificateRotator;
import dev.trellis.certs.CertifiedKey;
import dev.trellis.certs.KeyPairs;
import dev.trellis.certs.MeshKeyManager;
import dev.trellis.certs.PeerAuthentication;
import dev.trellis.certs.Pem;
import dev.trellis.certs.RotatingSslContext;
import dev.trellis.certs.SpiffeId;
import dev.trellis.certs.TrustBundle;
import dev.trellis.controlplane.api.v1.CertificateSigningGrpc;
import dev.trellis.controlplane.api.v1.SignRequest;
import dev.trellis.controlplane.api.v1.SignResponse;
import dev.trellis.controlplane.api.v1.TrustBundleAck;
import dev.trellis.controlplane.api.v1.TrustBundleUpdate;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.SslContext;
import java.net.Socket;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's mesh identity: makes its key pair and CSR here (the key never leaves the process),
 * gets the first certificate from the control plane with the join token and renews with the
 * current certificate at half its life (with jitter; backoff on failure, keeping the valid one),
 * follows the trust bundle the control plane pushes (acking each version) and serves the TLS
 * contexts of the SDS names {@code default} and {@code ROOTCA} through {@link MeshTls}.
 *
 * <p>The control plane's gRPC port is TLS; it is trusted through the mesh bundle ({@code --ca-file}).
 */
public final class WorkloadIdentity implements MeshTls, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WorkloadIdentity.class);
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    public static final String EXPIRY_GAUGE = "trellis_workload_certificate_expiry_seconds";

    private final String target;
    private final String service;
    /** The SPIFFE ID of the last certificate: the control plane decides trust domain and namespace (MeshConfig). */
    private volatile SpiffeId id;
    private final Optional<String> token;
    private final String node;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final AtomicReference<TrustBundle> bundle;
    private final AtomicReference<RotatingSslContext> strict = new AtomicReference<>();
    private final AtomicReference<RotatingSslContext> permissive = new AtomicReference<>();
    private final AtomicReference<RotatingSslContext> clientH1 = new AtomicReference<>();
    private final AtomicReference<RotatingSslContext> clientH2 = new AtomicReference<>();
    private final ConcurrentHashMap<Set<SpiffeId>, SslContext> outboundH1 = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Set<SpiffeId>, SslContext> outboundH2 = new ConcurrentHashMap<>();
    private final CertificateRotator rotator;
    private final ManagedChannel watchChannel;
    private volatile long bundleVersion;
    private volatile boolean closed;
    private volatile String lastRefusal = "";
    private Duration watchBackoff = Duration.ofSeconds(1);

    private WorkloadIdentity(Builder b) {
        this.target = b.target;
        this.service = b.service;
        this.token = b.token;
        this.node = b.node;
        this.clock = b.clock;
        this.scheduler = b.scheduler;
        this.bundle = new AtomicReference<>(b.bundle);
        this.rotator = CertificateRotator.builder(this::renew, scheduler).clock(clock).random(b.random)
                .backoff(b.initialBackoff, b.maxBackoff).onRenewed(this::adopt).build();
        this.watchChannel = channel(false);
        if (b.metrics != null) registerMetrics(b.metrics);
    }

    /** Registers the gauge {@value #EXPIRY_GAUGE} (seconds until the certificate expires; NaN before the first). */
    public void registerMetrics(MeterRegistry registry) {
        Gauge.builder(EXPIRY_GAUGE, rotator, CertificateRotator::secondsToExpiry)
                .description("Seconds until the workload certificate expires (NaN before the first one)")
                .tag("service", service).register(registry);
    }

    /**
     * @param controlPlane {@code host:port} of the control plane's gRPC port
     * @param bundle the mesh roots ({@code --ca-file}); the control plane's certificate must chain to one
     */
    public static Builder builder(String controlPlane, TrustBundle bundle, String service) {
        return new Builder(controlPlane, bundle, service);
    }

    /** Options of a {@link WorkloadIdentity}. */
    public static final class Builder {
        private final String target;
        private final TrustBundle bundle;
        private final String service;
        private Optional<String> token = Optional.empty();
        private String node = "";
        private Clock clock = Clock.systemUTC();
        private ScheduledExecutorService scheduler;
        private DoubleSupplier random = () -> java.util.concurrent.ThreadLocalRandom.current().nextDouble();
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofMinutes(5);
        private MeterRegistry metrics;

        private Builder(String target, TrustBundle bundle, String service) {
            this.target = Objects.requireNonNull(target, "controlPlane");
            this.bundle = Objects.requireNonNull(bundle, "bundle");
            this.service = Objects.requireNonNull(service, "service");
            SpiffeId.of(bundle.trustDomain(), "default", service); // checks the service name early
        }

        /** The join token for the first certificate ({@code --token-file}). */
        public Builder token(String token) {
            this.token = Optional.ofNullable(token).map(String::strip).filter(t -> !t.isEmpty());
            return this;
        }

        /** The xDS node id, reported with bundle acks for {@code trellis certs status}. */
        public Builder node(String node) {
            this.node = Objects.requireNonNull(node);
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /** Timer of renewals and reconnects (required). */
        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler);
            return this;
        }

        /** Jitter source in [0, 1) (tests pass a fixed one). */
        public Builder random(DoubleSupplier random) {
            this.random = Objects.requireNonNull(random);
            return this;
        }

        public Builder backoff(Duration initial, Duration max) {
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /** Where the seconds-to-expiry gauge goes. */
        public Builder metrics(MeterRegistry registry) {
            this.metrics = registry;
            return this;
        }

        public WorkloadIdentity build() {
            if (scheduler == null) throw new IllegalStateException("scheduler: not set (expected: a scheduled executor)");
            return new WorkloadIdentity(this);
        }
    }

    /** Asks for the first certificate and starts following the bundle. */
    public WorkloadIdentity start() {
        rotator.start();
        watch();
        return this;
    }

    /** Completes with the first certificate; the sidecar is not ready before. */
    public CompletableFuture<CertifiedKey> firstCertificate() {
        return rotator.firstCertificate();
    }

    /**
     * The workload's SPIFFE ID as the control plane issued it ({@code spiffe://<trust domain>/ns/<namespace>/sa/<service>},
     * trust domain and namespace from its MeshConfig); empty before the first certificate.
     */
    public Optional<SpiffeId> id() {
        return Optional.ofNullable(id);
    }

    public String service() {
        return service;
    }

    /** For logs: the ID once known, else the service. */
    private String name() {
        SpiffeId i = id;
        return i != null ? i.toString() : "service '" + service + "'";
    }

    /** True while a certificate is held and valid. */
    public boolean ready() {
        return rotator.current().map(k -> k.notAfter().isAfter(clock.instant())).orElse(false);
    }

    public Optional<CertifiedKey> certificate() {
        return rotator.current();
    }

    public double secondsToExpiry() {
        return rotator.secondsToExpiry();
    }

    public TrustBundle trustBundle() {
        return bundle.get();
    }

    /** Why the last certificate request was refused (empty after a success). */
    public String lastRefusal() {
        return lastRefusal;
    }

    public CertificateRotator rotator() {
        return rotator;
    }

    /** Renews now (for example after the control plane switched roots). */
    public void renewNow() {
        rotator.renewNow();
    }

    /**
     * TLS to the control plane: trusts the current bundle and presents the current certificate while
     * it is valid (so renewals authenticate with it). For the sidecar's other control-plane channels (ADS).
     */
    public ChannelCredentials channelCredentials() {
        return credentials(true);
    }

    /** TLS to the control plane trusting only {@code bundle}, without a client certificate: for callers that have no identity yet. */
    public static ChannelCredentials channelCredentials(TrustBundle bundle) {
        return TlsChannelCredentials.newBuilder().trustManager(bundle.pkixTrustManager()).build();
    }

    private ChannelCredentials credentials(boolean present) {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(new CurrentBundleTrust());
        if (present) {
            b.keyManager(new MeshKeyManager(() -> rotator.current()
                    .filter(k -> k.notAfter().isAfter(clock.instant())).orElse(null)));
        }
        return b.build();
    }

    private ManagedChannel channel(boolean present) {
        int colon = target.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("control plane: '" + target + "' (expected: host:port)");
        String host = target.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        return NettyChannelBuilder.forAddress(host, Integer.parseInt(target.substring(colon + 1)), credentials(present))
                .keepAliveTime(30, TimeUnit.SECONDS).build();
    }

    private CompletionStage<CertifiedKey> renew(Optional<CertifiedKey> current) {
        boolean haveValid = current.map(k -> k.notAfter().isAfter(clock.instant())).orElse(false);
        if (!haveValid && token.isEmpty()) {
            String why = "no valid certificate and no join token (expected: --token-file with a token from"
                    + " 'trellis token create --service " + service + "')";
            lastRefusal = why;
            log.warn("certificate for {}: {}; staying not ready", name(), why);
            return CompletableFuture.failedFuture(new IllegalStateException(why));
        }
        KeyPair kp = KeyPairs.ecP256();
        // no SAN: the control plane puts the ID of the proven service, with its MeshConfig trust domain and namespace
        CertificateRequest csr = CertificateRequest.forService(kp, service);
        // A fresh connection per request: its handshake presents the certificate of this moment.
        ManagedChannel ch = channel(haveValid);
        CertificateSigningGrpc.CertificateSigningFutureStub stub = CertificateSigningGrpc.newFutureStub(ch)
                .withDeadlineAfter(30, TimeUnit.SECONDS);
        if (!haveValid) {
            Metadata md = new Metadata();
            md.put(AUTHORIZATION, "Bearer " + token.get());
            stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        }
        String via = haveValid ? "current certificate" : "join token";
        CompletableFuture<CertifiedKey> out = new CompletableFuture<>();
        var call = stub.sign(SignRequest.newBuilder().setCsrPem(csr.toPem()).build());
        call.addListener(() -> {
            ch.shutdown();
            try {
                SignResponse r = call.get();
                CertifiedKey key = new CertifiedKey(kp.getPrivate(), Pem.decodeCertificates(r.getCertificateChainPem()));
                adoptBundle(r.getTrustBundleVersion(), r.getTrustBundlePem());
                lastRefusal = "";
                out.complete(key);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                String why = c instanceof StatusRuntimeException s
                        ? s.getStatus().getCode() + ": " + s.getStatus().getDescription() : String.valueOf(c);
                lastRefusal = why;
                log.warn("certificate request for {} with the {} refused: {}{}", name(), via, why,
                        ready() ? " (keeping the current certificate, retrying with backoff)" : "; staying not ready");
                out.completeExceptionally(c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                out.completeExceptionally(e);
            } catch (RuntimeException e) {
                log.warn("certificate for {}: bad answer from the control plane: {}", name(), e.toString());
                out.completeExceptionally(e);
            }
        }, Runnable::run);
        return out;
    }

    /** Swaps the renewed certificate in: new connections use it, open ones keep theirs. */
    private void adopt(CertifiedKey key) throws Exception {
        SpiffeId issued = key.spiffeId().orElse(null);
        SpiffeId before = id;
        if (issued == null || !issued.service().equals(service) || (before != null && !issued.trustDomain().equals(before.trustDomain()))) {
            throw new CertificateException("certificate from the control plane is for " + (issued == null ? "no SPIFFE ID" : issued)
                    + " (expected: spiffe://" + (before != null ? before.trustDomain() : "<trust domain>") + "/ns/<namespace>/sa/" + service + ")");
        }
        if (strict.get() == null) {
            TrustBundle b = bundle.get();
            if (!b.trustDomain().equals(issued.trustDomain())) {
                // a bundle whose roots name no trust domain (an operator's CA) was read with the default one:
                // the control plane's MeshConfig decides, and the peers' IDs are checked against it
                b = TrustBundle.of(issued.trustDomain(), b.roots());
                bundle.set(b);
                log.info("trust domain '{}' from the issued certificate", issued.trustDomain());
            }
            clientH1.set(RotatingSslContext.builder(key, b).clock(clock).alpn(List.of("http/1.1")).build());
            clientH2.set(RotatingSslContext.builder(key, b).clock(clock).alpn(List.of("h2")).build());
            permissive.set(RotatingSslContext.builder(key, b).clock(clock).peerAuthentication(PeerAuthentication.PERMISSIVE).build());
            strict.set(RotatingSslContext.builder(key, b).clock(clock).peerAuthentication(PeerAuthentication.STRICT).build());
        } else {
            for (RotatingSslContext r : contexts()) r.update(key);
        }
        id = issued;
        if (before != null && !before.equals(issued)) {
            log.info("workload identity is now {} (was {}): the control plane's MeshConfig changed", issued, before);
        }
        log.info("workload certificate for {} valid until {}", issued, key.notAfter());
    }

    private void adoptBundle(long version, String pem) {
        if (pem.isEmpty()) return;
        TrustBundle next = TrustBundle.fromPem(bundle.get().trustDomain(), pem);
        if (version > 0) bundleVersion = Math.max(bundleVersion, version);
        if (next.equals(bundle.get())) return;
        bundle.set(next);
        try {
            if (strict.get() != null) {
                for (RotatingSslContext r : contexts()) r.updateTrustBundle(next);
            }
            log.info("trust bundle version {}: {} root(s)", version, next.roots().size());
        } catch (javax.net.ssl.SSLException e) {
            log.error("trust bundle version {} not usable, keeping the previous contexts: {}", version, e.getMessage());
        }
    }

    private void watch() {
        if (closed) return;
        StreamObserver<TrustBundleAck>[] acks = new StreamObserver[1];
        acks[0] = CertificateSigningGrpc.newStub(watchChannel).watchTrustBundle(new StreamObserver<>() {
            @Override
            public void onNext(TrustBundleUpdate u) {
                watchBackoff = Duration.ofSeconds(1);
                adoptBundle(u.getVersion(), u.getTrustBundlePem());
                synchronized (acks) {
                    acks[0].onNext(TrustBundleAck.newBuilder().setVersion(u.getVersion()).setNode(node).build());
                }
                if (u.getRenew()) {
                    log.info("control plane switched roots: renewing now");
                    rotator.renewNow();
                }
            }

            @Override
            public void onError(Throwable t) {
                if (closed) return;
                Duration d = watchBackoff;
                watchBackoff = d.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30) : d.multipliedBy(2);
                log.debug("trust bundle watch ended ({}), again in {}", t.toString(), d);
                scheduler.schedule(WorkloadIdentity.this::watch, d.toMillis(), TimeUnit.MILLISECONDS);
            }

            @Override
            public void onCompleted() {
                onError(new IllegalStateException("completed by the control plane"));
            }
        });
    }

    @Override
    public SslContext inbound(boolean requireClientCertificate) {
        AtomicReference<RotatingSslContext> r = requireClientCertificate ? strict : permissive;
        if (r.get() == null) throw new IllegalStateException("workload identity of " + name() + ": no certificate yet");
        return new FollowingSslContext(() -> r.get().serverContext());
    }

    @Override
    public SslContext outbound(Set<SpiffeId> allowedServers, boolean http2) {
        if (strict.get() == null) throw new IllegalStateException("workload identity of " + name() + ": no certificate yet");
        AtomicReference<RotatingSslContext> r = http2 ? clientH2 : clientH1;
        return (http2 ? outboundH2 : outboundH1).computeIfAbsent(Set.copyOf(allowedServers),
                ids -> new FollowingSslContext(() -> r.get().clientContext(ids)));
    }

    private List<RotatingSslContext> contexts() {
        return List.of(clientH1.get(), clientH2.get(), permissive.get(), strict.get());
    }

    @Override
    public void close() {
        closed = true;
        rotator.close();
        watchChannel.shutdownNow();
    }

    /** Trusts the control plane's certificate against the bundle of the moment. */
    private final class CurrentBundleTrust extends X509ExtendedTrustManager {
        // built per handshake (rare: renewals, reconnects) so that validity follows the injected clock
        private X509ExtendedTrustManager tm() {
            return bundle.get().pkixTrustManager(clock.instant());
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("clients are not checked here");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            tm().checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("clients are not checked here");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            tm().checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("clients are not checked here");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            tm().checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return tm().getAcceptedIssuers();
        }
    }
}
