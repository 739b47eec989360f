package dev.trellis.sidecar.xds;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.trellis.common.cli.HostPort;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.Registered;
import dev.trellis.controlplane.api.v1.RemovalAcknowledged;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.config.SocketAddr;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.identity.WorkloadIdentity;
import dev.trellis.sidecar.registration.AppHealthChecker;
import dev.trellis.sidecar.registration.RegistrationClient;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.ManagedChannel;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sidecar run from flags against a control plane ({@code trellis sidecar --service ...}):
 * registers its instance, health-checks the app, takes its listeners, routes and clusters over
 * ADS and applies them to a {@link Sidecar}. {@link #close()} deregisters (waiting, bounded, until
 * peers have dropped the instance) before the listeners close.
 */
public final class MeshSidecar implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MeshSidecar.class);
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

    private final Options options;
    private final Sidecar sidecar;
    private final ManagedChannel channel;
    private final ScheduledExecutorService executor;
    private final RegistrationClient registration;
    private final AppHealthChecker health;
    private final AtomicReference<SidecarConfig> latest;
    private final CompletableFuture<Void> failed = new CompletableFuture<>();
    private final WorkloadIdentity identity;
    private volatile AdsClient ads;
    private volatile String nodeId;
    private volatile boolean configApplied;
    private volatile boolean draining;
    private volatile boolean closed;

    /**
     * Everything the flags say. {@code upstreams} maps a service to the port of its local listener
     * on 127.0.0.1; port 0 for the listeners (not the inbound one, which peers dial) means any free port.
     */
    public record Options(String service, int appPort, HostPort controlPlane, int adminPort, int inboundPort,
                          int outboundPort, Map<String, Integer> upstreams, Map<String, String> labels,
                          String instanceId, String address, String protocol, AppHealthChecker.Settings health,
                          Duration deregisterTimeout, Duration restartSettle, int ioThreads, String adminAddress,
                          int appGrpcPort) {
        public static final int DEFAULT_ADMIN_PORT = 15000;
        /** Loopback: the admin API (config dump, reload) is for this host unless asked otherwise. */
        public static final String DEFAULT_ADMIN_ADDRESS = "127.0.0.1";
        public static final int DEFAULT_INBOUND_PORT = 15006;
        public static final int DEFAULT_OUTBOUND_PORT = 15001;
        public static final Duration DEFAULT_DEREGISTER_TIMEOUT = Duration.ofSeconds(10);
        public static final Duration DEFAULT_RESTART_SETTLE = Duration.ofSeconds(10);

        public Options {
            Objects.requireNonNull(controlPlane, "controlPlane");
            upstreams = Map.copyOf(new TreeMap<>(upstreams));
            labels = Map.copyOf(new TreeMap<>(labels));
            check(service != null && NAME.matcher(service).matches(), "--service", service,
                    "lower-case letters, digits, '-' and '.'");
            check(appPort >= 1 && appPort <= 65535, "--app-port", appPort, "1..65535");
            check(adminPort >= 0 && adminPort <= 65535, "--admin-port", adminPort, "0..65535");
            check(inboundPort >= 1 && inboundPort <= 65535, "--inbound-port", inboundPort, "1..65535, the port peers dial");
            check(outboundPort >= 0 && outboundPort <= 65535, "--outbound-port", outboundPort, "0..65535");
            check(List.of("http", "http2", "grpc").contains(protocol), "--protocol", protocol, "http, http2 or grpc");
            check(address != null && !address.isBlank(), "--address", address, "an IP address or host name peers can dial");
            check(instanceId != null && instanceId.matches("[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?"), "--instance-id",
                    instanceId, "letters, digits, '-', '_' and '.'");
            for (Map.Entry<String, Integer> u : upstreams.entrySet()) {
                check(NAME.matcher(u.getKey()).matches(), "--upstream", u.getKey() + "=" + u.getValue(),
                        "NAME=PORT with a service name");
                check(u.getValue() >= 0 && u.getValue() <= 65535, "--upstream", u.getKey() + "=" + u.getValue(),
                        "NAME=PORT with PORT 0..65535");
            }
            check(ioThreads >= 1, "--io-threads", ioThreads, ">= 1");
            checkAdminAddress(adminAddress);
            check(appGrpcPort >= 0 && appGrpcPort <= 65535, "--app-grpc-port", appGrpcPort, "0..65535");
            check(appGrpcPort == 0 || appGrpcPort != appPort, "--app-grpc-port", appGrpcPort, "a port other than --app-port");
        }

        /** The admin server's bind address: an IP literal (0.0.0.0 for every interface, so probes from outside reach it). */
        public static void checkAdminAddress(String adminAddress) {
            check(adminAddress != null && (NetUtil.isValidIpV4Address(adminAddress) || NetUtil.isValidIpV6Address(adminAddress)),
                    "--admin-address", adminAddress, "an IP address such as 127.0.0.1 or 0.0.0.0");
        }

        private static void check(boolean ok, String option, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException(option + ": '" + value + "' (expected: " + expected + ")");
            }
        }

        /** Defaults for everything but the three required flags; a random instance id. */
        public static Options of(String service, int appPort, HostPort controlPlane) {
            return new Options(service, appPort, controlPlane, DEFAULT_ADMIN_PORT, DEFAULT_INBOUND_PORT,
                    DEFAULT_OUTBOUND_PORT, Map.of(), Map.of(), defaultInstanceId(service), "127.0.0.1", "http",
                    AppHealthChecker.Settings.DEFAULT, DEFAULT_DEREGISTER_TIMEOUT, DEFAULT_RESTART_SETTLE,
                    Sidecar.defaultIoThreads(), DEFAULT_ADMIN_ADDRESS, 0);
        }

        public static String defaultInstanceId(String service) {
            byte[] b = new byte[4];
            ThreadLocalRandom.current().nextBytes(b);
            return (service == null ? "instance" : service) + "-" + HexFormat.of().formatHex(b);
        }

        public Options withPorts(int admin, int inbound, int outbound) {
            return new Options(service, appPort, controlPlane, admin, inbound, outbound, upstreams, labels, instanceId,
                    address, protocol, health, deregisterTimeout, restartSettle, ioThreads, adminAddress, appGrpcPort);
        }

        public Options withUpstreams(Map<String, Integer> u) {
            return new Options(service, appPort, controlPlane, adminPort, inboundPort, outboundPort, u, labels, instanceId,
                    address, protocol, health, deregisterTimeout, restartSettle, ioThreads, adminAddress, appGrpcPort);
        }

        public Options withIdentity(String id, String addr, String proto, Map<String, String> l) {
            return new Options(service, appPort, controlPlane, adminPort, inboundPort, outboundPort, upstreams, l, id,
                    addr, proto, health, deregisterTimeout, restartSettle, ioThreads, adminAddress, appGrpcPort);
        }

        public Options withTiming(AppHealthChecker.Settings h, Duration deregister, Duration settle, int threads) {
            return new Options(service, appPort, controlPlane, adminPort, inboundPort, outboundPort, upstreams, labels,
                    instanceId, address, protocol, h, deregister, settle, threads, adminAddress, appGrpcPort);
        }

        /** The admin server on {@code bind} instead of 127.0.0.1 ({@code --admin-address}). */
        public Options withAdminAddress(String bind) {
            return new Options(service, appPort, controlPlane, adminPort, inboundPort, outboundPort, upstreams, labels,
                    instanceId, address, protocol, health, deregisterTimeout, restartSettle, ioThreads, bind, appGrpcPort);
        }

        /** The app also serves gRPC on 127.0.0.1:{@code port} (0: no second port). */
        public Options withAppGrpcPort(int port) {
            return new Options(service, appPort, controlPlane, adminPort, inboundPort, outboundPort, upstreams, labels,
                    instanceId, address, protocol, health, deregisterTimeout, restartSettle, ioThreads, adminAddress, port);
        }

        Instance instance() {
            return Instance.newBuilder().setService(service).setInstanceId(instanceId).setAddress(address)
                    .setInboundPort(inboundPort).setProtocol(protocol).putAllLabels(labels)
                    .addAllUpstreams(upstreams.keySet()).setAppPort(appPort).setAppGrpcPort(appGrpcPort).build();
        }
    }

    private MeshSidecar(Options o, Sidecar sidecar, AtomicReference<SidecarConfig> latest, ManagedChannel channel,
                        ScheduledExecutorService executor, WorkloadIdentity identity) {
        this.options = o;
        this.identity = identity;
        this.latest = latest;
        this.sidecar = sidecar;
        this.channel = channel;
        this.executor = executor;
        Scheduler scheduler = Scheduler.of(executor);
        this.registration = new RegistrationClient(channel, o.instance(), scheduler, Backoff.defaults());
        this.health = new AppHealthChecker(o.appPort(), o.protocol(), o.health(), registration::health);
        // ready only with a valid workload certificate (when the sidecar has an identity)
        sidecar.readinessGate(() -> configApplied && registration.registered().isDone() && !draining
                && (identity == null || identity.ready()));
    }

    /**
     * Binds the admin server, then registers and subscribes in the background: the control plane
     * need not be up yet. A config error (e.g. the admin port taken) is thrown as {@link ConfigException}.
     */
    public static MeshSidecar start(Options o) throws InterruptedException {
        return start(o, null);
    }

    /**
     * As {@link #start(Options)} with a workload identity ({@code --ca-file}, {@code --token-file}):
     * the control-plane channel is TLS trusting the bundle, the certificate is fetched first and the
     * xDS subscription (with its mTLS listeners and clusters) starts once it is there.
     */
    public static MeshSidecar start(Options o, IdentityOptions id) throws InterruptedException {
        SidecarConfig boot = new SidecarConfig(new SidecarConfig.NodeInfo("", o.service(), Map.of()),
                Optional.of(new SocketAddr(o.adminAddress(), o.adminPort())), List.of(), Map.of());
        AtomicReference<SidecarConfig> holder = new AtomicReference<>(boot);
        // POST /reload and SIGHUP re-apply the last config received, there is no file to re-read
        ProxyRuntime rt = ProxyRuntime.start(holder::get, o.ioThreads(), o.controlPlane(), id, o.service(),
                "sidecar~" + o.service() + "~" + o.instanceId());
        WorkloadIdentity identity = rt.identity();
        ScheduledExecutorService executor = rt.executor();
        Sidecar sidecar = rt.sidecar();
        ManagedChannel channel = rt.channel();
        MeshSidecar m = new MeshSidecar(o, sidecar, holder, channel, executor, identity);
        try {
            sidecar.listen();
        } catch (RuntimeException | InterruptedException e) {
            m.abort();
            throw e;
        }
        m.registration.registered().whenComplete((reg, e) -> {
            if (e != null) {
                log.error("{}", e.getMessage());
                m.failed.completeExceptionally(e);
            } else {
                // listeners and clusters with mesh mTLS need the certificate: subscribe once it is there
                CompletableFuture<?> cert = identity == null ? CompletableFuture.completedFuture(null) : identity.firstCertificate();
                cert.thenRun(() -> executor.execute(() -> m.subscribe(reg)));
            }
        });
        if (identity != null) {
            identity.start();
            // register only with a certificate: peers would otherwise be sent to an inbound port not there yet
            identity.firstCertificate().thenRun(m.registration::start);
        } else {
            m.registration.start();
        }
        m.health.start();
        log.info("sidecar for {} ({}), app on 127.0.0.1:{}, control plane {}, admin on {}", o.service(),
                o.instanceId(), o.appPort(), o.controlPlane(), sidecar.adminAddress());
        return m;
    }

    private void subscribe(Registered reg) {
        if (closed) {
            return;
        }
        nodeId = reg.getNodeId();
        Struct.Builder md = Struct.newBuilder()
                .putFields("TRELLIS_OUTBOUND_PORT", num(options.outboundPort()))
                .putFields("TRELLIS_INBOUND_PORT", num(options.inboundPort()))
                .putFields("TRELLIS_APP_PORT", num(options.appPort()));
        if (!options.upstreams().isEmpty()) {
            ListValue.Builder l = ListValue.newBuilder();
            options.upstreams().keySet().forEach(u -> l.addValues(Value.newBuilder().setStringValue(u)));
            md.putFields("TRELLIS_UPSTREAMS", Value.newBuilder().setListValue(l).build());
        }
        Node node = Node.newBuilder().setId(nodeId).setCluster(options.service()).setMetadata(md)
                .setUserAgentName("trellis-sidecar").build();
        Map<String, Object> nodeMd = new LinkedHashMap<>();
        md.getFieldsMap().forEach((k, v) -> nodeMd.put(k, v.hasListValue()
                ? v.getListValue().getValuesList().stream().map(Value::getStringValue).toList() : v.getNumberValue()));
        XdsConfigTranslator.Local local = new XdsConfigTranslator.Local(
                new SidecarConfig.NodeInfo(nodeId, options.service(), nodeMd),
                Optional.of(new SocketAddr(options.adminAddress(), options.adminPort())), options.upstreams());
        ads = new AdsClient(channel, node, (candidate, type) -> apply(candidate, local), Scheduler.of(executor),
                Backoff.defaults(), options.restartSettle());
        ads.registerMetrics(sidecar.metrics().registry());
        ads.start();
    }

    private static Value num(int n) {
        return Value.newBuilder().setNumberValue(n).build();
    }

    private Optional<String> apply(XdsResources candidate, XdsConfigTranslator.Local local) {
        XdsConfigTranslator.Result r;
        try {
            r = XdsConfigTranslator.translate(candidate, local);
        } catch (ConfigException e) {
            return Optional.of(e.getMessage());
        }
        if (!r.complete()) {
            log.debug("xDS config not complete yet, waiting for {}", r.waitingFor());
            return Optional.empty();
        }
        if (closed) {
            return Optional.empty();
        }
        SidecarConfig next = r.config().get();
        Optional<String> error = sidecar.update(next);
        if (error.isPresent()) {
            return error;
        }
        latest.set(next);
        if (!configApplied) {
            configApplied = true;
            log.info("first config from the control plane applied: listeners {}", sidecar.listenerAddresses());
        }
        return Optional.empty();
    }

    public Sidecar sidecar() {
        return sidecar;
    }

    public Options options() {
        return options;
    }

    /** The workload identity (null without one: a plaintext control plane in tests). */
    public WorkloadIdentity identity() {
        return identity;
    }

    public RegistrationClient registration() {
        return registration;
    }

    /** The ADS client, once registered (null before). */
    public AdsClient ads() {
        return ads;
    }

    /** The node id the control plane gave this instance (null before the first registration). */
    public String nodeId() {
        return nodeId;
    }

    /** True once registered and the first complete config is applied (what {@code /ready} says). */
    public boolean ready() {
        return sidecar.ready();
    }

    /** Completes exceptionally when the control plane refuses this instance for good. */
    public CompletableFuture<Void> failed() {
        return failed;
    }

    /** The bound address of listener {@code name} ({@code inbound}, {@code outbound}, {@code upstream|<svc>}). */
    public InetSocketAddress listenerAddress(String name) {
        return sidecar.listenerAddress(name);
    }

    /**
     * Graceful stop: {@code /ready} turns 503, the instance deregisters and waits (at most the
     * deregister timeout) until peers have dropped it, then everything closes.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        draining = true;
        health.close();
        Duration bound = options.deregisterTimeout();
        try {
            RemovalAcknowledged ack = registration.deregister(bound).get(bound.toMillis() + 2000, TimeUnit.MILLISECONDS);
            if (ack.getComplete()) {
                log.info("deregistered {}: every peer dropped it after {} ms", options.instanceId(),
                        com.google.protobuf.util.Durations.toMillis(ack.getWaited()));
            } else {
                log.warn("deregistered {}: peers {} had not dropped it after {} ms", options.instanceId(),
                        ack.getPendingNodesList(), com.google.protobuf.util.Durations.toMillis(ack.getWaited()));
            }
        } catch (ExecutionException e) {
            log.warn("deregistering {}: {}", options.instanceId(), e.getCause().getMessage());
        } catch (TimeoutException e) {
            log.warn("deregistering {}: no answer within {} ms", options.instanceId(), bound.toMillis() + 2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        shutdown();
    }

    /** Stops without deregistering, as a crash would: the control plane keeps the instance for its grace period. */
    public void abort() {
        if (closed) {
            return;
        }
        draining = true;
        health.close();
        shutdown();
    }

    private void shutdown() {
        closed = true;
        AdsClient a = ads;
        if (a != null) {
            a.close();
        }
        registration.close();
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
