package dev.trellis.sidecar.gateway;

import dev.trellis.common.cli.HostPort;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.config.SocketAddr;
import dev.trellis.sidecar.xds.AdsClient;
import dev.trellis.sidecar.xds.Backoff;
import dev.trellis.sidecar.xds.MeshSidecar;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.identity.WorkloadIdentity;
import dev.trellis.sidecar.xds.ProxyRuntime;
import dev.trellis.sidecar.xds.Scheduler;
import dev.trellis.sidecar.xds.XdsConfigTranslator;
import dev.trellis.sidecar.xds.XdsResources;
import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingress gateway ({@code trellis gateway --name NAME ...}): a sidecar whose listeners, routes
 * and clusters come over ADS as node {@code gateway~NAME~<instance>}, compiled by the control plane
 * from the {@code Gateway} policy NAME. Local flags replace the listeners' ports and certificate
 * files; the certificate files are watched and reloaded when they change. With its identity flags
 * the gateway is workload {@code NAME} of the mesh: it talks TLS to the control plane, gets its
 * certificate with the join token first (subscribing only then, ready only while it holds a valid
 * one) and calls mesh services over mTLS as {@code spiffe://<td>/ns/<ns>/sa/NAME}.
 */
public final class MeshGateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MeshGateway.class);
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
    /** Listener names the control plane sends a gateway (see GatewayTranslator). */
    public static final String HTTPS = "gateway-https";
    public static final String HTTP = "gateway-http";

    /** Everything the flags say. */
    public record Options(String name, HostPort controlPlane, OptionalInt listen, OptionalInt httpListen,
                          Optional<Path> tlsCert, Optional<Path> tlsKey, int adminPort, String instanceId,
                          Duration certificateCheck, Duration restartSettle, int ioThreads, String adminAddress) {
        public static final int DEFAULT_ADMIN_PORT = 15000;

        public Options {
            check(name != null && NAME.matcher(name).matches(), "--name", name, "lower-case letters, digits, '-' and '.'");
            check(listen.isEmpty() || (listen.getAsInt() >= 0 && listen.getAsInt() <= 65535), "--listen", listen, "0..65535");
            check(httpListen.isEmpty() || (httpListen.getAsInt() >= 0 && httpListen.getAsInt() <= 65535), "--http-listen",
                    httpListen, "0..65535");
            check(tlsCert.isPresent() == tlsKey.isPresent(), tlsCert.isPresent() ? "--tls-key" : "--tls-cert", "missing",
                    "--tls-cert and --tls-key together");
            check(adminPort >= 0 && adminPort <= 65535, "--admin-port", adminPort, "0..65535");
            check(ioThreads >= 1, "--io-threads", ioThreads, ">= 1");
            MeshSidecar.Options.checkAdminAddress(adminAddress);
        }

        /** With the admin server on 127.0.0.1. */
        public Options(String name, HostPort controlPlane, OptionalInt listen, OptionalInt httpListen,
                       Optional<Path> tlsCert, Optional<Path> tlsKey, int adminPort, String instanceId,
                       Duration certificateCheck, Duration restartSettle, int ioThreads) {
            this(name, controlPlane, listen, httpListen, tlsCert, tlsKey, adminPort, instanceId, certificateCheck,
                    restartSettle, ioThreads, MeshSidecar.Options.DEFAULT_ADMIN_ADDRESS);
        }

        private static void check(boolean ok, String option, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException(option + ": '" + value + "' (expected: " + expected + ")");
            }
        }

        public static Options of(String name, HostPort controlPlane) {
            byte[] b = new byte[4];
            ThreadLocalRandom.current().nextBytes(b);
            return new Options(name, controlPlane, OptionalInt.empty(), OptionalInt.empty(), Optional.empty(), Optional.empty(),
                    DEFAULT_ADMIN_PORT, name + "-" + HexFormat.of().formatHex(b), Duration.ofSeconds(1), Duration.ZERO,
                    Math.max(2, Runtime.getRuntime().availableProcessors()), MeshSidecar.Options.DEFAULT_ADMIN_ADDRESS);
        }

        public String nodeId() {
            return "gateway~" + name + "~" + instanceId;
        }
    }

    private final Options options;
    private final Sidecar sidecar;
    private final ManagedChannel channel;
    private final ScheduledExecutorService executor;
    private final AtomicReference<SidecarConfig> latest;
    private final AdsClient ads;
    private final WorkloadIdentity identity;
    private volatile boolean configApplied;
    private volatile boolean closed;

    private MeshGateway(Options o, ProxyRuntime rt, AtomicReference<SidecarConfig> latest) {
        this.options = o;
        this.sidecar = rt.sidecar();
        this.latest = latest;
        this.channel = rt.channel();
        this.executor = rt.executor();
        this.identity = rt.identity();
        Node node = Node.newBuilder().setId(o.nodeId()).setCluster(o.name()).setUserAgentName("trellis-gateway").build();
        XdsConfigTranslator.Local local = new XdsConfigTranslator.Local(
                new SidecarConfig.NodeInfo(o.nodeId(), o.name(), Map.of()),
                Optional.of(new SocketAddr(o.adminAddress(), o.adminPort())), Map.of());
        this.ads = new AdsClient(channel, node, (candidate, type) -> apply(candidate, local), Scheduler.of(executor),
                Backoff.defaults(), o.restartSettle());
        ads.registerMetrics(sidecar.metrics().registry());
        sidecar.readinessGate(() -> configApplied && !closed && rt.identityReady());
    }

    /**
     * Without a mesh identity: plaintext to the control plane, no mTLS to services (a control plane
     * started without TLS, in tests). Binds the admin server and subscribes in the background.
     */
    public static MeshGateway start(Options o) throws InterruptedException {
        return start(o, null);
    }

    /**
     * Binds the admin server; with {@code id} ({@code --ca-file}, {@code --token-file}) fetches the
     * workload certificate of service {@code NAME} and subscribes once it is there, without it
     * subscribes right away (the control plane need not be up yet). Bad files: {@link ConfigException}.
     */
    public static MeshGateway start(Options o, IdentityOptions id) throws InterruptedException {
        SidecarConfig boot = new SidecarConfig(new SidecarConfig.NodeInfo(o.nodeId(), o.name(), Map.of()),
                Optional.of(new SocketAddr(o.adminAddress(), o.adminPort())), List.of(), Map.of());
        AtomicReference<SidecarConfig> holder = new AtomicReference<>(boot);
        ProxyRuntime rt = ProxyRuntime.start(holder::get, o.ioThreads(), o.controlPlane(), id, o.name(), o.nodeId());
        rt.sidecar().watchCertificates(o.certificateCheck());
        MeshGateway g = new MeshGateway(o, rt, holder);
        try {
            g.sidecar.listen();
        } catch (RuntimeException | InterruptedException e) {
            g.close();
            throw e;
        }
        if (g.identity != null) {
            g.identity.start();
            // the outbound clusters' mTLS needs the certificate: subscribe once it is there
            g.identity.firstCertificate().thenRun(() -> g.executor.execute(() -> {
                if (!g.closed) g.ads.start();
            }));
        } else {
            g.ads.start();
        }
        log.info("gateway {} ({}), control plane {}, admin on {}", o.name(), o.nodeId(), o.controlPlane(), g.sidecar.adminAddress());
        return g;
    }

    private Optional<String> apply(XdsResources candidate, XdsConfigTranslator.Local local) {
        XdsConfigTranslator.Result r;
        SidecarConfig next;
        try {
            r = XdsConfigTranslator.translate(localize(candidate, options), local);
            if (!r.complete()) {
                return Optional.empty();
            }
            next = r.config().get();
        } catch (ConfigException e) {
            return Optional.of(e.getMessage());
        }
        if (closed) {
            return Optional.empty();
        }
        Optional<String> error = sidecar.update(next);
        if (error.isPresent()) {
            return error;
        }
        latest.set(next);
        if (!configApplied) {
            configApplied = true;
            log.info("gateway {}: first config applied: listeners {}", options.name(), sidecar.listenerAddresses());
        }
        return Optional.empty();
    }

    /**
     * The flags' ports and certificate files in place of the policy's, on the xDS listeners before
     * they are translated (the policy's files need not exist on this host).
     */
    static XdsResources localize(XdsResources r, Options o) {
        Map<String, Listener> ls = new java.util.HashMap<>(r.listeners());
        Listener https = ls.get(HTTPS);
        if (https != null) {
            Listener.Builder b = https.toBuilder();
            o.listen().ifPresent(p -> b.getAddressBuilder().getSocketAddressBuilder().setPortValue(p));
            if (o.tlsCert().isPresent()) {
                DownstreamTlsContext ctx = DownstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
                        .addAlpnProtocols("h2").addAlpnProtocols("http/1.1")
                        .addTlsCertificates(TlsCertificate.newBuilder()
                                .setCertificateChain(DataSource.newBuilder().setFilename(o.tlsCert().get().toString()))
                                .setPrivateKey(DataSource.newBuilder().setFilename(o.tlsKey().get().toString())))).build();
                for (int i = 0; i < b.getFilterChainsCount(); i++) {
                    b.getFilterChainsBuilder(i).setTransportSocket(TransportSocket.newBuilder()
                            .setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(ctx)));
                }
            }
            ls.put(HTTPS, b.build());
        }
        Listener http = ls.get(HTTP);
        if (http != null && o.httpListen().isPresent()) {
            Listener.Builder b = http.toBuilder();
            b.getAddressBuilder().getSocketAddressBuilder().setPortValue(o.httpListen().getAsInt());
            ls.put(HTTP, b.build());
        }
        return new XdsResources(ls, r.routes(), r.clusters(), r.endpoints(), r.received());
    }

    public Sidecar sidecar() {
        return sidecar;
    }

    public AdsClient ads() {
        return ads;
    }

    public InetSocketAddress listenerAddress(String name) {
        return sidecar.listenerAddress(name);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ads.close();
        executor.shutdown();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        channel.shutdownNow();
        if (identity != null) {
            identity.close();
        }
        sidecar.close();
    }
}
