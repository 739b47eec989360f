package dev.trellis.controlplane.identity;

import dev.trellis.certs.CertificateAuthority;
import dev.trellis.certs.CertifiedKey;
import dev.trellis.certs.MeshKeyManager;
import dev.trellis.certs.SvidTrustManager;
import dev.trellis.certs.SvidValidator;
import dev.trellis.controlplane.policy.MeshPolicy;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's identity parts: the mesh CA (in the data dir), the TLS identity of the gRPC
 * port (a server certificate from the same CA, renewed at half its life and after a root switch),
 * join tokens, the admin token and the certificate signing service.
 */
public final class MeshIdentity {
    private static final Logger log = LoggerFactory.getLogger(MeshIdentity.class);
    // as short as workload leaves: after a root switch the old root can go as soon as the workloads' leaves allow
    static final Duration SERVER_CERT_LIFETIME = Duration.ofHours(24);

    private final CertificateAuthority ca;
    private final TokenStore tokens;
    private final AdminToken adminToken;
    private final CertificateService signing;
    private final Clock clock;
    private final List<String> dnsNames;
    private final List<InetAddress> ips;
    private final AtomicReference<CertifiedKey> serverKey = new AtomicReference<>();
    private final AtomicReference<SvidTrustManager> clientTrust = new AtomicReference<>();
    private final Object rotationLock = new Object();
    private final AtomicReference<String> namespace = new AtomicReference<>();

    /** Options: where the data lives, an operator CA, and the names the gRPC port is reached by. */
    public record Options(Path dataDir, Path operatorCaCert, Path operatorCaKey, List<String> serverNames, Clock clock) {}

    public MeshIdentity(Options o, Supplier<MeshPolicy.MeshConfig> meshConfig) throws IOException {
        this.clock = o.clock();
        String trustDomain = meshConfig.get().trustDomain();
        namespace.set(meshConfig.get().namespace());
        CertificateAuthority.Builder b = CertificateAuthority.builder(trustDomain).clock(clock);
        if (o.dataDir() != null) b.directory(o.dataDir());
        if (o.operatorCaCert() != null || o.operatorCaKey() != null) {
            if (o.operatorCaCert() == null || o.operatorCaKey() == null) {
                throw new IllegalArgumentException("--ca-cert and --ca-key: only one given (expected: both or neither)");
            }
            b.operatorCa(o.operatorCaCert(), o.operatorCaKey());
        }
        this.ca = b.build();
        this.tokens = new TokenStore(o.dataDir(), clock);
        this.adminToken = AdminToken.loadOrCreate(o.dataDir());
        this.signing = new CertificateService(ca, meshConfig, clock);
        Set<String> dns = new LinkedHashSet<>(List.of("localhost"));
        Set<InetAddress> ip = new LinkedHashSet<>(List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1")));
        for (String n : o.serverNames()) {
            if (n.isBlank() || n.equals("0.0.0.0") || n.equals("::")) continue;
            if (n.matches("[0-9.]+") || n.contains(":")) ip.add(InetAddress.getByName(n));
            else dns.add(n);
        }
        this.dnsNames = List.copyOf(dns);
        this.ips = List.copyOf(ip);
        refresh();
    }

    public CertificateAuthority ca() {
        return ca;
    }

    public TokenStore tokens() {
        return tokens;
    }

    public AdminToken adminToken() {
        return adminToken;
    }

    public CertificateService signing() {
        return signing;
    }

    /** The current certificate of the gRPC port. */
    public CertifiedKey serverCertificate() {
        return serverKey.get();
    }

    /**
     * TLS for the gRPC port: the server certificate of the moment (read per handshake), and an
     * optional client certificate checked by the X509-SVID rules against the current bundle.
     */
    public ServerCredentials serverCredentials() {
        return TlsServerCredentials.newBuilder()
                .keyManager(new MeshKeyManager(serverKey::get))
                .trustManager(new CurrentTrust())
                .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
                .build();
    }

    /** Renews the server certificate when past half its life or not from the signing root; rebuilds client trust. */
    public void refresh() {
        CertifiedKey k = serverKey.get();
        Instant now = clock.instant();
        boolean stale = k == null || now.isAfter(k.notBefore().plus(k.lifetime().dividedBy(2)))
                || !k.leaf().getIssuerX500Principal().equals(ca.signingCertificate().getSubjectX500Principal());
        if (stale) {
            serverKey.set(ca.newServerIdentity(dnsNames, ips, SERVER_CERT_LIFETIME));
            log.info("control plane server certificate for {} {} issued by '{}'", dnsNames, ips,
                    ca.signingCertificate().getSubjectX500Principal());
        }
        clientTrust.set(new SvidTrustManager(new SvidValidator(ca.trustBundle(), clock), Set.of()));
    }

    /**
     * A MeshConfig must keep the CA's trust domain: every certificate, bundle and SPIFFE ID of the
     * mesh is in it (a new trust domain needs a new CA, i.e. a new data dir).
     */
    public List<String> checkMeshConfig(MeshPolicy policy) {
        String td = policy.meshConfig().trustDomain();
        return td.equals(ca.trustDomain()) ? List.of() : List.of("MeshConfig.spec.trustDomain: '" + td + "' (expected: '"
                + ca.trustDomain() + "', the trust domain of the mesh CA" + ca.directory().map(d -> " in " + d).orElse("")
                + "; a new trust domain needs a new CA)");
    }

    /**
     * After a policy change: when MeshConfig's namespace changed, every workload's SPIFFE ID does,
     * so the sidecars are asked to renew at once (xDS SAN checks and RBAC principals follow the
     * same MeshConfig).
     */
    public void meshConfigChanged(dev.trellis.controlplane.policy.PolicyRevision revision) {
        String ns = revision.policy().meshConfig().namespace();
        String before = namespace.getAndSet(ns);
        if (!ns.equals(before)) {
            log.info("MeshConfig namespace '{}' -> '{}': asking every sidecar to renew its certificate", before, ns);
            synchronized (rotationLock) {
                signing.publish(ca.trustBundle(), true);
            }
        }
    }

    /** Periodic work: drop roots nothing valid was signed under, renew the server certificate. */
    public void tick() {
        synchronized (rotationLock) {
            try {
                List<X509Certificate> dropped = ca.dropRetiredRoots();
                if (!dropped.isEmpty()) {
                    refresh();
                    signing.publish(ca.trustBundle(), false);
                    dropped.forEach(r -> log.info("root '{}' dropped from the bundle: nothing it signed is valid any more",
                            r.getSubjectX500Principal()));
                }
            } catch (IOException e) {
                log.error("dropping retired roots failed: {}", e.toString());
            }
            refresh();
        }
    }

    /** What one {@code certs rotate-root} did. */
    public record RotationReport(List<String> steps, boolean switched, List<String> pendingNodes) {}

    /**
     * Root rotation with overlap: stages a new root (unless one is staged), pushes the bundle, waits
     * up to {@code wait} for every watching sidecar to ack it, then switches signing and asks the
     * sidecars to renew. The old root stays until nothing it signed is valid ({@link #tick()}).
     */
    public RotationReport rotateRoot(Duration wait) throws IOException, InterruptedException {
        synchronized (rotationLock) {
            List<String> steps = new ArrayList<>();
            boolean staged = ca.roots().stream().anyMatch(r -> r.role() == CertificateAuthority.RootRole.STAGED);
            if (!staged) {
                X509Certificate root = ca.addRoot();
                steps.add("added root " + root.getSubjectX500Principal() + " (sha256 " + CertificateService.sha256(root)
                        .substring(0, 16) + ") to the bundle");
            } else {
                steps.add("a staged root is already in the bundle");
            }
            refresh();
            long v = signing.publish(ca.trustBundle(), false);
            steps.add("pushed bundle version " + v + " to " + signing.watchers().size() + " sidecar(s)");
            List<String> pending = signing.awaitAcks(v, System.nanoTime() + wait.toNanos());
            if (!pending.isEmpty()) {
                steps.add("not switching: " + pending.size() + " sidecar(s) did not ack within " + wait + ": " + pending
                        + "; run rotate-root again to continue");
                return new RotationReport(steps, false, pending);
            }
            steps.add("every sidecar acked the bundle");
            X509Certificate next = ca.switchToNewRoot();
            refresh();
            long v2 = signing.publish(ca.trustBundle(), true);
            steps.add("signing with root " + next.getSubjectX500Principal() + " now; asked sidecars to renew (bundle version "
                    + v2 + ")");
            steps.add("the old root stays in the bundle until nothing it signed is valid");
            return new RotationReport(steps, true, List.of());
        }
    }

    /** Roots with their use, expiry and how many workloads hold certificates from each. */
    public List<Map<String, Object>> status() {
        Map<String, Integer> perRoot = signing.workloadsPerRoot();
        List<Map<String, Object>> out = new ArrayList<>();
        for (CertificateAuthority.RootStatus r : ca.roots()) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("sha256", r.sha256());
            m.put("subject", r.certificate().getSubjectX500Principal().getName());
            m.put("role", r.role().name());
            m.put("notAfter", r.notAfter().toString());
            m.put("issuedUntil", r.issuedUntil().map(Instant::toString).orElse(null));
            m.put("workloads", perRoot.getOrDefault(r.sha256(), 0));
            out.add(m);
        }
        return out;
    }

    /** Delegates to the trust manager of the current bundle, so a pushed root is trusted at once. */
    private final class CurrentTrust extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            clientTrust.get().checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            throw new CertificateException("the control plane's gRPC port checks clients only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            clientTrust.get().checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            throw new CertificateException("the control plane's gRPC port checks clients only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            clientTrust.get().checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("the control plane's gRPC port checks clients only");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return clientTrust.get().getAcceptedIssuers();
        }
    }
}
