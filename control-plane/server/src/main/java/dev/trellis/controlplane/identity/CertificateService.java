package dev.trellis.controlplane.identity;

import com.google.protobuf.Timestamp;
import dev.trellis.certs.CertificateAuthority;
import dev.trellis.certs.CertificateRequest;
import dev.trellis.certs.CsrRejectedException;
import dev.trellis.certs.Pem;
import dev.trellis.certs.SpiffeId;
import dev.trellis.certs.TrustBundle;
import dev.trellis.controlplane.api.v1.CertificateSigningGrpc;
import dev.trellis.controlplane.api.v1.SignRequest;
import dev.trellis.controlplane.api.v1.SignResponse;
import dev.trellis.controlplane.api.v1.TrustBundleAck;
import dev.trellis.controlplane.api.v1.TrustBundleUpdate;
import dev.trellis.controlplane.policy.MeshPolicy;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code trellis.v1.CertificateSigning}: signs workload CSRs for the identity the caller proved
 * (join token or current certificate, see {@link Caller}) and streams the trust bundle to every
 * sidecar, tracking which bundle version each has acknowledged.
 */
public final class CertificateService extends CertificateSigningGrpc.CertificateSigningImplBase {
    private static final Logger log = LoggerFactory.getLogger(CertificateService.class);

    private final CertificateAuthority ca;
    private final Supplier<MeshPolicy.MeshConfig> meshConfig;
    private final Clock clock;
    /** Leaves held by workloads: serial -> root and expiry, replaced on renewal, pruned once expired. */
    private final Map<BigInteger, Issued> issued = new ConcurrentHashMap<>();
    private volatile io.micrometer.core.instrument.Counter issuedCounter;
    private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();
    private final Object ackLock = new Object();
    private volatile TrustBundleUpdate bundle;

    record Issued(String rootSha256, Instant notAfter, String service) {}

    /** One open WatchTrustBundle call. */
    static final class Watcher {
        final ServerCallStreamObserver<TrustBundleUpdate> out;
        volatile long acked = -1;
        volatile String node = "";

        Watcher(ServerCallStreamObserver<TrustBundleUpdate> out) {
            this.out = out;
        }
    }

    public CertificateService(CertificateAuthority ca, Supplier<MeshPolicy.MeshConfig> meshConfig, Clock clock) {
        this.ca = ca;
        this.meshConfig = meshConfig;
        this.clock = clock;
        this.bundle = TrustBundleUpdate.newBuilder().setVersion(1).setTrustBundlePem(ca.trustBundle().toPem()).build();
    }

    /**
     * Registers {@code trellis_ca_certificates_issued_total} and {@code trellis_ca_earliest_expiry_seconds}
     * (seconds until the first of the live issued workload certificates expires; NaN when none).
     */
    public void bindMetrics(io.micrometer.core.instrument.MeterRegistry meters) {
        issuedCounter = io.micrometer.core.instrument.Counter.builder("trellis_ca_certificates_issued")
                .description("workload certificates signed").register(meters);
        io.micrometer.core.instrument.Gauge.builder("trellis_ca_earliest_expiry", this, CertificateService::earliestExpirySeconds)
                .description("seconds until the earliest live issued workload certificate expires")
                .baseUnit("seconds").register(meters);
    }

    double earliestExpirySeconds() {
        Instant now = clock.instant();
        return issued.values().stream().map(Issued::notAfter).filter(t -> t.isAfter(now)).min(Instant::compareTo)
                .map(t -> Duration.between(now, t).toMillis() / 1000.0).orElse(Double.NaN);
    }

    @Override
    public void sign(SignRequest request, StreamObserver<SignResponse> response) {
        Caller caller = Caller.current();
        if (caller.service().isEmpty()) {
            String why = caller.refusal().isEmpty()
                    ? "no credentials (expected: a join token in 'authorization: Bearer <token>' or a workload certificate)"
                    : caller.refusal();
            log.warn("certificate request refused: {}", why);
            response.onError(Status.UNAUTHENTICATED.withDescription(why).asRuntimeException());
            return;
        }
        String service = caller.service().get();
        CertificateRequest csr;
        try {
            csr = CertificateRequest.fromPem(request.getCsrPem());
        } catch (RuntimeException e) {
            log.warn("certificate request of service '{}' refused: CSR does not parse: {}", service, e.getMessage());
            response.onError(Status.INVALID_ARGUMENT.withDescription("csr_pem: " + e.getMessage()
                    + " (expected: a PEM PKCS#10 request)").asRuntimeException());
            return;
        }
        MeshPolicy.MeshConfig mc = meshConfig.get();
        SpiffeId id = SpiffeId.of(ca.trustDomain(), mc.namespace(), service);
        List<X509Certificate> chain;
        try {
            chain = ca.signWorkload(csr, id, mc.certificateTtl());
        } catch (CsrRejectedException e) {
            log.warn("certificate request refused ({} via {}): {}", service, caller.via(), e.getMessage());
            Status s = e.reason() == CsrRejectedException.Reason.IDENTITY_MISMATCH ? Status.PERMISSION_DENIED : Status.INVALID_ARGUMENT;
            response.onError(s.withDescription(e.getMessage()).asRuntimeException());
            return;
        } catch (IllegalStateException e) {
            log.error("certificate request of {} failed: {}", id, e.getMessage());
            response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        X509Certificate leaf = chain.get(0);
        caller.certificateSerial().ifPresent(issued::remove);
        issued.put(leaf.getSerialNumber(), new Issued(sha256(ca.trustBundle().roots().stream()
                .filter(r -> chainsTo(chain, r)).findFirst().orElse(ca.signingCertificate())), leaf.getNotAfter().toInstant(), service));
        log.info("signed {} via {} until {}", id, caller.via(), leaf.getNotAfter().toInstant());
        if (issuedCounter != null) issuedCounter.increment();
        TrustBundleUpdate b = bundle;
        response.onNext(SignResponse.newBuilder()
                .setCertificateChainPem(Pem.encodeCertificates(chain))
                .setTrustBundlePem(b.getTrustBundlePem())
                .setTrustBundleVersion(b.getVersion())
                .setSpiffeId(id.toString())
                .setNotAfter(Timestamp.newBuilder().setSeconds(leaf.getNotAfter().toInstant().getEpochSecond()))
                .build());
        response.onCompleted();
    }

    private static boolean chainsTo(List<X509Certificate> chain, X509Certificate root) {
        X509Certificate top = chain.get(chain.size() - 1);
        if (!top.getIssuerX500Principal().equals(root.getSubjectX500Principal())) return false;
        try {
            top.verify(root.getPublicKey());
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public StreamObserver<TrustBundleAck> watchTrustBundle(StreamObserver<TrustBundleUpdate> response) {
        Watcher w = new Watcher((ServerCallStreamObserver<TrustBundleUpdate>) response);
        w.out.setOnCancelHandler(() -> remove(w));
        watchers.add(w);
        synchronized (w) {
            w.out.onNext(bundle);
        }
        return new StreamObserver<>() {
            @Override
            public void onNext(TrustBundleAck ack) {
                w.acked = ack.getVersion();
                if (!ack.getNode().isEmpty()) w.node = ack.getNode();
                synchronized (ackLock) {
                    ackLock.notifyAll();
                }
            }

            @Override
            public void onError(Throwable t) {
                remove(w);
            }

            @Override
            public void onCompleted() {
                remove(w);
                synchronized (w) {
                    w.out.onCompleted();
                }
            }
        };
    }

    private void remove(Watcher w) {
        watchers.remove(w);
        synchronized (ackLock) {
            ackLock.notifyAll();
        }
    }

    /** Sends the CA's current bundle to every watcher; {@code renew} asks them to renew at once. */
    public long publish(TrustBundle b, boolean renew) {
        TrustBundleUpdate next;
        synchronized (this) {
            next = TrustBundleUpdate.newBuilder().setVersion(bundle.getVersion() + 1).setTrustBundlePem(b.toPem())
                    .setRenew(renew).build();
            bundle = next;
        }
        for (Watcher w : watchers) {
            synchronized (w) {
                try {
                    w.out.onNext(next);
                } catch (RuntimeException e) {
                    log.debug("bundle push to {} failed: {}", w.node, e.toString());
                }
            }
        }
        log.info("trust bundle version {} ({} roots{}) pushed to {} sidecar(s)", next.getVersion(), b.roots().size(),
                renew ? ", renew now" : "", watchers.size());
        return next.getVersion();
    }

    public long bundleVersion() {
        return bundle.getVersion();
    }

    /**
     * Waits until every connected watcher acked {@code version} or {@code deadlineNanos} (System.nanoTime) passes.
     *
     * @return the nodes that have not acked (empty: all have)
     */
    public List<String> awaitAcks(long version, long deadlineNanos) throws InterruptedException {
        synchronized (ackLock) {
            while (true) {
                List<String> pending = watchers.stream().filter(w -> w.acked < version)
                        .map(w -> w.node.isEmpty() ? "(unnamed sidecar)" : w.node).sorted().toList();
                long left = deadlineNanos - System.nanoTime();
                if (pending.isEmpty() || left <= 0) return pending;
                ackLock.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    /** Sidecars watching the bundle, by node id, with the version each acked. */
    public Map<String, Long> watchers() {
        Map<String, Long> m = new TreeMap<>();
        int i = 0;
        for (Watcher w : watchers) m.put(w.node.isEmpty() ? "(unnamed " + (++i) + ")" : w.node, w.acked);
        return m;
    }

    /** Valid workload certificates per root (SHA-256). */
    public Map<String, Integer> workloadsPerRoot() {
        Instant now = clock.instant();
        issued.values().removeIf(i -> !i.notAfter().isAfter(now));
        Map<String, Integer> m = new TreeMap<>();
        issued.values().forEach(i -> m.merge(i.rootSha256(), 1, Integer::sum));
        return m;
    }

    static String sha256(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
