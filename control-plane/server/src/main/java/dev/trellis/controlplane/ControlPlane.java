package dev.trellis.controlplane;

import dev.trellis.controlplane.admin.AdminServer;
import dev.trellis.controlplane.identity.AuthInterceptor;
import dev.trellis.controlplane.identity.CallerAuthorization;
import dev.trellis.controlplane.identity.IdentityApi;
import dev.trellis.controlplane.identity.MeshIdentity;
import dev.trellis.controlplane.policy.PolicyDirWatcher;
import dev.trellis.controlplane.policy.PolicyException;
import dev.trellis.controlplane.policy.PolicyStore;
import dev.trellis.controlplane.registry.RegistrationGuard;
import dev.trellis.controlplane.registry.RegistrationService;
import dev.trellis.controlplane.registry.Registry;
import dev.trellis.controlplane.registry.Scheduler;
import dev.trellis.controlplane.xds.ProxyTracker;
import dev.trellis.controlplane.xds.SnapshotPublisher;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running control plane: gRPC (xDS ADS + {@code trellis.v1.Registration}) on one port, the
 * HTTP admin API on another, the registry, the versioned policy store and the snapshot publisher
 * that joins them. Start one with {@link #builder()}.
 */
public final class ControlPlane implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);

    private final Server grpc;
    private final AdminServer admin;
    private final Registry registry;
    private final PolicyStore policy;
    private final ProxyTracker proxies;
    private final SnapshotPublisher publisher;
    private final PolicyDirWatcher dirWatcher;
    private final ScheduledExecutorService scheduler;
    private final PrometheusMeterRegistry metrics;
    private final MeshIdentity identity;
    private volatile boolean ready;

    private ControlPlane(Builder b) throws IOException, PolicyException {
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "trellis-control-plane");
            t.setDaemon(true);
            return t;
        });
        boolean ok = false;
        PolicyDirWatcher watcher = null;
        Server g = null;
        AdminServer a = null;
        try {
            metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            Scheduler sched = b.scheduler != null ? b.scheduler : Scheduler.of(scheduler);
            if (b.dataDir != null) Files.createDirectories(b.dataDir);
            policy = new PolicyStore(b.dataDir, b.clock);
            if (b.policyDir != null) {
                // the CA takes MeshConfig's trust domain: the directory's MeshConfig must be in first
                watcher = new PolicyDirWatcher(b.policyDir, policy);
                watcher.applyOnce();
            }
            identity = new MeshIdentity(new MeshIdentity.Options(b.dataDir, b.caCert, b.caKey,
                    serverNames(b), b.clock), () -> policy.current().policy().meshConfig());
            policy.constraint(identity::checkMeshConfig);
            policy.onChange(identity::meshConfigChanged);
            scheduler.scheduleWithFixedDelay(identity::tick, 1, 1, TimeUnit.MINUTES);
            identity.signing().bindMetrics(metrics);
            registry = new Registry(b.clock, sched, b.gracePeriod);
            proxies = new ProxyTracker(b.clock, sched, metrics);
            publisher = new SnapshotPublisher(registry, () -> policy.current().policy(), proxies, scheduler,
                    b.debounce, metrics);
            registry.onChange(publisher::changed);
            policy.onChange(r -> publisher.changed());
            metrics.gauge("trellis_registry_instances", registry, Registry::size);
            metrics.gauge("trellis_policy_revision", policy, p -> p.current().revision());
            if (watcher != null) {
                watcher.start(scheduler, b.policyPollMillis);
            }
            dirWatcher = watcher;

            V3DiscoveryServer xds = new V3DiscoveryServer(proxies, publisher.watcher());
            // plaintext is the explicit dev/test mode: nobody can be authenticated by a certificate there
            CallerAuthorization authz = new CallerAuthorization(!b.plaintext);
            RegistrationService registration = new RegistrationService(registry, proxies,
                    b.guard != null ? b.guard : authz.registrationGuard(), b.clock);
            // the last interceptor runs first: the caller's identity is known to every other one
            List<ServerInterceptor> interceptors = new ArrayList<>(b.interceptors);
            interceptors.add(new AuthInterceptor(identity.tokens(), () -> identity.ca().trustDomain()));
            List<ServerInterceptor> adsInterceptors = new ArrayList<>(interceptors);
            adsInterceptors.add(0, authz.adsGuard());
            ServerCredentials creds = b.plaintext ? InsecureServerCredentials.create()
                    : b.credentials != null ? b.credentials : identity.serverCredentials();
            NettyServerBuilder sb = NettyServerBuilder.forAddress(new InetSocketAddress(b.host, b.port), creds)
                    .addService(ServerInterceptors.intercept(xds.getAggregatedDiscoveryServiceImpl(), adsInterceptors))
                    .addService(ServerInterceptors.intercept(registration, interceptors))
                    .addService(ServerInterceptors.intercept(identity.signing(), interceptors))
                    .permitKeepAliveTime(10, TimeUnit.SECONDS)
                    .permitKeepAliveWithoutCalls(true);
            for (io.grpc.BindableService extra : b.services) {
                sb.addService(ServerInterceptors.intercept(extra, interceptors));
            }
            g = sb.build().start();
            a = new AdminServer(new InetSocketAddress(b.host, b.adminPort), policy, registry, proxies, metrics,
                    () -> ready, b.adminGuard != null ? b.adminGuard : identity.adminToken(), publisher::resources);
            a.addApi(new IdentityApi(identity, b.clock));
            a.start();
            grpc = g;
            admin = a;
            ok = true;
            ready = true;
            if (b.plaintext) {
                log.warn("gRPC port {}:{} is PLAINTEXT (dev/test mode): callers are not authenticated, anyone may"
                        + " register any service and subscribe as any proxy", b.host, g.getPort());
            }
            log.info("control plane ready: gRPC over {} (xDS, registration, certificates) on {}:{}, admin on {}:{},"
                    + " policy revision {}, trust domain {}", b.plaintext ? "plaintext" : "TLS", b.host, g.getPort(), b.host,
                    a.port(), policy.current().revision(), identity.ca().trustDomain());
        } finally {
            if (!ok) {
                if (watcher != null) watcher.close();
                if (g != null) g.shutdownNow();
                if (a != null) a.close();
                scheduler.shutdownNow();
            }
        }
    }

    private static List<String> serverNames(Builder b) {
        List<String> names = new ArrayList<>(b.serverNames);
        names.add(b.host);
        return names;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int grpcPort() {
        return grpc.getPort();
    }

    public int adminPort() {
        return admin.port();
    }

    public Registry registry() {
        return registry;
    }

    public PolicyStore policy() {
        return policy;
    }

    public ProxyTracker proxies() {
        return proxies;
    }

    public SnapshotPublisher publisher() {
        return publisher;
    }

    /** The CA, tokens and admin token. */
    public MeshIdentity identity() {
        return identity;
    }

    /** The roots clients of the gRPC port and every sidecar trust ({@code <data-dir>/ca-bundle.pem}). */
    public dev.trellis.certs.TrustBundle trustBundle() {
        return identity.ca().trustBundle();
    }

    /** The bearer token of {@code /api/}. */
    public String adminToken() {
        return identity.adminToken().token();
    }

    public PrometheusMeterRegistry metrics() {
        return metrics;
    }

    /** Blocks until the gRPC server stops. */
    public void awaitTermination() throws InterruptedException {
        grpc.awaitTermination();
    }

    @Override
    public void close() {
        ready = false;
        if (dirWatcher != null) dirWatcher.close();
        admin.close();
        grpc.shutdownNow();
        try {
            grpc.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        scheduler.shutdownNow();
        metrics.close();
    }

    /**
     * Options for a control plane. {@link #credentials} and {@link #interceptors} are where TLS and
     * token authentication plug in; {@link #guard} decides who may register which service.
     */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 15012;
        private int adminPort = 15014;
        private Path dataDir;
        private Path policyDir;
        private Duration gracePeriod = Duration.ofSeconds(5);
        private Duration debounce = Duration.ofMillis(50);
        private long policyPollMillis = 250;
        private Clock clock = Clock.systemUTC();
        private Scheduler scheduler;
        private ServerCredentials credentials;
        private boolean plaintext;
        private final List<ServerInterceptor> interceptors = new ArrayList<>();
        private RegistrationGuard guard;
        private final List<io.grpc.BindableService> services = new ArrayList<>();
        private AdminServer.Guard adminGuard;
        private Path caCert;
        private Path caKey;
        private final List<String> serverNames = new ArrayList<>();

        public Builder host(String host) {
            this.host = Objects.requireNonNull(host);
            return this;
        }

        public Builder port(int port) {
            this.port = checkPort("port", port);
            return this;
        }

        public Builder adminPort(int port) {
            this.adminPort = checkPort("admin-port", port);
            return this;
        }

        private static int checkPort(String what, int p) {
            if (p < 0 || p > 65535) throw new IllegalArgumentException(what + ": " + p + " (expected: 0..65535)");
            return p;
        }

        /** Where policy revisions are persisted; null keeps them in memory. */
        public Builder dataDir(Path dir) {
            this.dataDir = dir;
            return this;
        }

        /** A directory of YAML policy files to keep applied; null for none. */
        public Builder policyDir(Path dir) {
            this.policyDir = dir;
            return this;
        }

        public Builder gracePeriod(Duration d) {
            if (d.isNegative()) throw new IllegalArgumentException("grace-period: " + d + " (expected: >= 0)");
            this.gracePeriod = d;
            return this;
        }

        public Builder debounce(Duration d) {
            if (d.isNegative() || d.compareTo(Duration.ofMillis(100)) > 0) {
                throw new IllegalArgumentException("debounce: " + d.toMillis() + "ms (expected: 0..100ms)");
            }
            this.debounce = d;
            return this;
        }

        public Builder policyPollMillis(long ms) {
            if (ms < 10) throw new IllegalArgumentException("policy poll: " + ms + "ms (expected: >= 10ms)");
            this.policyPollMillis = ms;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /** Timer for grace periods and removal bounds; defaults to the control plane's own thread. */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /** The operator's root or intermediate (PEM chain, signing certificate first) and its key, instead of a generated root. */
        public Builder operatorCa(Path certChainPem, Path keyPem) {
            this.caCert = certChainPem;
            this.caKey = keyPem;
            return this;
        }

        /** Extra DNS names or IPs sidecars reach the gRPC port by (its certificate always has localhost and loopback). */
        public Builder serverName(String name) {
            this.serverNames.add(Objects.requireNonNull(name));
            return this;
        }

        /**
         * Replaces the TLS of the gRPC port (default: a server certificate from the mesh CA). Callers
         * must still prove a service (client certificate of the mesh or join token) to register
         * or subscribe; for no TLS at all use {@link #plaintext()}.
         */
        public Builder credentials(ServerCredentials credentials) {
            if (credentials instanceof InsecureServerCredentials) {
                throw new IllegalArgumentException("credentials: InsecureServerCredentials (expected: TLS credentials;"
                        + " plaintext() for an unauthenticated dev/test control plane)");
            }
            this.credentials = Objects.requireNonNull(credentials);
            this.plaintext = false;
            return this;
        }

        /**
         * Dev/test only: the gRPC port without TLS, where callers cannot prove a service by a
         * certificate, so anonymous callers may register any service and subscribe as any proxy (a
         * caller with a join token still registers only its service). Logged as a warning at start.
         */
        public Builder plaintext() {
            this.plaintext = true;
            this.credentials = null;
            return this;
        }

        public Builder interceptor(ServerInterceptor interceptor) {
            this.interceptors.add(interceptor);
            return this;
        }

        /**
         * Default ({@link CallerAuthorization}): the caller must prove the instance's service by its
         * certificate or a join token (with {@link #plaintext()}: anonymous callers pass).
         */
        public Builder guard(RegistrationGuard guard) {
            this.guard = Objects.requireNonNull(guard);
            return this;
        }

        /** Another gRPC service on the control plane's port (e.g. certificate signing), behind the same interceptors. */
        public Builder service(io.grpc.BindableService service) {
            this.services.add(Objects.requireNonNull(service));
            return this;
        }

        /** Decides who may call {@code /api/} on the admin port (default: the bearer token in {@code <data-dir>/admin.token}). */
        public Builder adminGuard(AdminServer.Guard guard) {
            this.adminGuard = Objects.requireNonNull(guard);
            return this;
        }

        public ControlPlane start() throws IOException, PolicyException {
            return new ControlPlane(this);
        }
    }
}
