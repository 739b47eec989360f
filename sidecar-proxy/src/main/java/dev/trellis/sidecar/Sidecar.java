package dev.trellis.sidecar;

import dev.trellis.common.Durations;
import dev.trellis.sidecar.admin.AdminServer;
import dev.trellis.sidecar.admin.SidecarMetrics;
import dev.trellis.sidecar.cluster.ClusterManager;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.ListenerConfig;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.http.HttpConnectionManager;
import dev.trellis.sidecar.identity.MeshTls;
import dev.trellis.sidecar.internal.DaemonThreads;
import dev.trellis.sidecar.internal.LoopWatchdog;
import dev.trellis.sidecar.internal.SslContexts;
import dev.trellis.sidecar.internal.Transports;
import dev.trellis.sidecar.listener.ListenerState;
import dev.trellis.sidecar.listener.ProxyListener;
import dev.trellis.sidecar.observe.AccessLogWriter;
import dev.trellis.sidecar.observe.Telemetry;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running sidecar: listeners, clusters and the admin server built from a
 * {@link SidecarConfig}. {@link #reload()} swaps in a new config atomically.
 */
public final class Sidecar implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Sidecar.class);

    private final Supplier<SidecarConfig> source;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ScheduledExecutorService background;
    /** Reports event loops that stop running tasks (null when {@value #WATCHDOG_PROPERTY} is 0). */
    private final LoopWatchdog watchdog;

    /** JVM property: how long an event loop may go without running a task before it is reported (default 200ms, 0: off). */
    public static final String WATCHDOG_PROPERTY = "trellis.watchdog.missTimeout";
    private final ClusterManager clusters;
    private final SidecarMetrics metrics = new SidecarMetrics();
    private final Telemetry telemetry;
    private final Map<String, ProxyListener> listeners = new LinkedHashMap<>();
    private final AdminServer admin;
    private volatile SidecarConfig config;
    private volatile boolean ready;
    private SidecarConfig initial;
    private volatile java.util.function.BooleanSupplier readinessGate = () -> true;
    private InetSocketAddress adminAddress;

    private final MeshTls mesh;

    private Sidecar(Supplier<SidecarConfig> source, int workerThreads, int accessLogQueue, MeshTls mesh) {
        Duration watchdogMiss = watchdogMissTimeout();
        this.source = source;
        this.mesh = mesh;
        this.telemetry = new Telemetry(metrics, java.time.Clock.systemUTC(), accessLogQueue);
        this.boss = Transports.group(1, "trellis-accept");
        this.workers = Transports.group(workerThreads, "trellis-io");
        this.background = DaemonThreads.scheduler("trellis-background");
        this.watchdog = watchdogMiss.isZero() ? null : LoopWatchdog.watch(workers, watchdogMiss, WATCHDOG_PROPERTY, metrics.registry());
        this.clusters = new ClusterManager(background, mesh);
        metrics.clusters(clusters::all);
        this.admin = new AdminServer(this, background);
    }

    /**
     * Reads the sidecar's JVM properties ({@value #WATCHDOG_PROPERTY}, {@value Transports#PROPERTY})
     * and throws a bad one as an {@link IllegalArgumentException} that names it, so a command line
     * can report it before it starts anything.
     */
    public static void checkJvmProperties() {
        watchdogMissTimeout();
        Transports.kind();
    }

    /** {@value #WATCHDOG_PROPERTY}, read before anything is started so that a bad value leaks no thread. */
    static Duration watchdogMissTimeout() {
        String text = System.getProperty(WATCHDOG_PROPERTY, "200ms").trim();
        Duration miss;
        try {
            miss = text.equals("0") ? Duration.ZERO : Durations.parse(text);
        } catch (IllegalArgumentException e) {
            miss = Duration.ofSeconds(-1);
        }
        if (miss.isNegative()) {
            throw new IllegalArgumentException(WATCHDOG_PROPERTY + ": '" + text + "' (expected: a duration such as 200ms, or 0 for off)");
        }
        return miss;
    }

    /**
     * One event loop per CPU this JVM may use (taskset, container limits): a sidecar pinned to one
     * CPU runs one loop, so a request never wakes a second thread that would compete for that CPU.
     */
    public static int defaultIoThreads() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Loads the config from {@code source}, binds the admin server, then every listener. A config
     * error is thrown as {@link ConfigException} and nothing stays open.
     */
    public static Sidecar start(Supplier<SidecarConfig> source, int workerThreads) throws InterruptedException {
        return start(source, workerThreads, AccessLogWriter.DEFAULT_CAPACITY);
    }

    /** As {@link #start(Supplier, int)}, with the access log writers' queue length in lines. */
    public static Sidecar start(Supplier<SidecarConfig> source, int workerThreads, int accessLogQueue)
            throws InterruptedException {
        return start(source, workerThreads, accessLogQueue, null);
    }

    /** {@link #start(Supplier, int)} with the workload identity that SDS secrets {@code default}/{@code ROOTCA} resolve to. */
    public static Sidecar start(Supplier<SidecarConfig> source, int workerThreads, MeshTls mesh) throws InterruptedException {
        return start(source, workerThreads, AccessLogWriter.DEFAULT_CAPACITY, mesh);
    }

    /** All options: access log queue length and the workload identity (null: none) for SDS secrets. */
    public static Sidecar start(Supplier<SidecarConfig> source, int workerThreads, int accessLogQueue, MeshTls mesh)
            throws InterruptedException {
        Sidecar s = create(source, workerThreads, accessLogQueue, mesh);
        try {
            s.listen();
        } catch (RuntimeException | InterruptedException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * Loads the config and binds only the admin server, which answers {@code /ready} with 503
     * until {@link #listen()} has bound the listeners. A config error closes everything and is thrown.
     */
    public static Sidecar create(Supplier<SidecarConfig> source, int workerThreads) throws InterruptedException {
        return create(source, workerThreads, AccessLogWriter.DEFAULT_CAPACITY);
    }

    /** As {@link #create(Supplier, int)}, with the access log writers' queue length in lines. */
    public static Sidecar create(Supplier<SidecarConfig> source, int workerThreads, int accessLogQueue)
            throws InterruptedException {
        return create(source, workerThreads, accessLogQueue, null);
    }

    /** {@link #create(Supplier, int)} with the workload identity (null: none) for SDS secrets. */
    public static Sidecar create(Supplier<SidecarConfig> source, int workerThreads, MeshTls mesh) throws InterruptedException {
        return create(source, workerThreads, AccessLogWriter.DEFAULT_CAPACITY, mesh);
    }

    /** All options: access log queue length and the workload identity (null: none) for SDS secrets. */
    public static Sidecar create(Supplier<SidecarConfig> source, int workerThreads, int accessLogQueue, MeshTls mesh)
            throws InterruptedException {
        Sidecar s = new Sidecar(source, workerThreads, accessLogQueue, mesh);
        try {
            s.initial = source.get();
            Optional<dev.trellis.sidecar.config.SocketAddr> a = s.initial.admin();
            if (a.isPresent()) {
                s.adminAddress = s.admin.bind(a.get(), s.boss);
            }
        } catch (RuntimeException | InterruptedException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** Applies the config loaded by {@link #create} (binds every listener); the sidecar is ready after. */
    public synchronized void listen() throws InterruptedException {
        if (ready) {
            return;
        }
        apply(initial);
        initial = null;
        ready = true;
        log.info("sidecar ready: transport={}, tls={}, listeners={}, admin={}", Transports.name(),
                SslContexts.provider(), listenerAddresses(), adminAddress);
    }

    /** Re-reads the config; on failure the old config keeps serving and the reason is returned. */
    public synchronized Optional<String> reload() {
        if (!ready) {
            return Optional.of("not started yet");
        }
        SidecarConfig next;
        try {
            next = source.get();
            apply(next);
        } catch (ConfigException e) {
            log.warn("reload refused, keeping the current config: {}", e.getMessage());
            return Optional.of(e.getMessage());
        } catch (RuntimeException | InterruptedException e) {
            log.warn("reload failed, keeping the current config", e);
            return Optional.of(String.valueOf(e.getMessage()));
        }
        if (!next.admin().equals(config.admin())) {
            log.warn("reload: admin.address changed to {}; the admin server stays on {} until a restart",
                    next.admin().orElse(null), adminAddress);
        }
        log.info("reloaded: listeners={}, clusters={}", listenerAddresses(), next.clusters().keySet());
        return Optional.empty();
    }

    /**
     * Applies {@code next} (e.g. from xDS) the way {@link #reload()} applies a re-read file: all or
     * nothing; on failure the reason is returned and the running config stays.
     */
    public synchronized Optional<String> update(SidecarConfig next) {
        try {
            apply(next);
        } catch (ConfigException e) {
            return Optional.of(e.getMessage());
        } catch (RuntimeException e) {
            log.warn("update failed, keeping the current config", e);
            return Optional.of(String.valueOf(e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted while applying");
        }
        return Optional.empty();
    }

    /** An extra condition for {@code /ready} (e.g. registered and first xDS config applied). */
    public void readinessGate(java.util.function.BooleanSupplier gate) {
        this.readinessGate = java.util.Objects.requireNonNull(gate);
    }

    /**
     * All or nothing: TLS contexts, clusters, connection managers and new sockets are built first;
     * if any of it fails, what was opened is closed and the running model is untouched. Only then
     * is anything swapped, and nothing after that point can fail.
     */
    private synchronized void apply(SidecarConfig next) throws InterruptedException {
        Map<String, SslContext> ssl = new LinkedHashMap<>();
        for (ListenerConfig l : next.listeners()) {
            if (l.tls().isPresent()) {
                ssl.put(l.name(), SslContexts.server(l.tls().get(), l.name(), mesh));
            }
        }
        ClusterManager.Pending pending = clusters.prepare(next.clusters());
        Map<String, ListenerState> states = new LinkedHashMap<>();
        Map<String, ProxyListener> kept = new LinkedHashMap<>();
        Map<String, ProxyListener> opened = new LinkedHashMap<>();
        try {
            for (ListenerConfig l : next.listeners()) {
                HttpConnectionManager hcm = new HttpConnectionManager(l.name(), l.http(), pending.clusters(),
                        telemetry.observer(l, next),
                        l.tls().isPresent(), System::nanoTime);
                ListenerState state = new ListenerState(l, hcm, ssl.get(l.name()));
                states.put(l.name(), state);
                ProxyListener existing = reusable(l, kept.values());
                if (existing != null) {
                    kept.put(l.name(), existing);
                } else {
                    ProxyListener pl = new ProxyListener(state, boss, workers);
                    opened.put(l.name(), pl);
                    pl.bind();
                }
            }
        } catch (RuntimeException | InterruptedException e) {
            opened.values().forEach(ProxyListener::close);
            clusters.discard(pending);
            telemetry.abandon();
            throw e;
        }
        // commit
        clusters.commit(pending);
        Map<String, ProxyListener> swapped = new LinkedHashMap<>();
        for (ListenerConfig l : next.listeners()) {
            ProxyListener pl = kept.get(l.name());
            if (pl != null) {
                pl.update(states.get(l.name()));
            } else {
                pl = opened.get(l.name());
            }
            swapped.put(l.name(), pl);
        }
        for (ProxyListener old : listeners.values()) {
            if (!kept.containsValue(old)) {
                old.close();
            }
        }
        listeners.clear();
        listeners.putAll(swapped);
        opened.values().forEach(ProxyListener::startAccepting);
        telemetry.commit(next);
        this.config = next;
    }

    /**
     * The running listener whose socket {@code l} can keep: the one of that name on the same
     * address, else (a rename) one on the same fixed port that nothing else claimed.
     */
    private ProxyListener reusable(ListenerConfig l, java.util.Collection<ProxyListener> claimed) {
        ProxyListener same = listeners.get(l.name());
        if (same != null && same.state().config().address().equals(l.address()) && !claimed.contains(same)) {
            return same;
        }
        if (l.address().port() == 0) {
            return null;
        }
        for (ProxyListener pl : listeners.values()) {
            if (pl.state().config().address().equals(l.address()) && !claimed.contains(pl)) {
                return pl;
            }
        }
        return null;
    }

    /**
     * Re-reads the certificate and key files of TLS listeners when they change, checking every
     * {@code interval}: new connections get the new certificate, open ones keep theirs.
     */
    public void watchCertificates(Duration interval) {
        dev.trellis.sidecar.listener.CertificateWatcher w = new dev.trellis.sidecar.listener.CertificateWatcher(
                this::tlsFiles, this::refreshTls);
        w.check();
        background.scheduleWithFixedDelay(() -> {
            try {
                w.check();
            } catch (RuntimeException e) {
                log.warn("certificate check failed", e);
            }
        }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private synchronized Map<String, java.util.List<java.nio.file.Path>> tlsFiles() {
        Map<String, java.util.List<java.nio.file.Path>> out = new LinkedHashMap<>();
        // the workload identity rotates by itself; only certificates from files are watched here
        listeners.forEach((name, pl) -> pl.state().config().tls()
                .filter(t -> !t.workloadIdentity() && t.certificateChain().isPresent() && t.privateKey().isPresent())
                .ifPresent(t -> out.put(name, java.util.List.of(t.certificateChain().get(), t.privateKey().get()))));
        return out;
    }

    /** Rebuilds listener {@code name}'s TLS context from its files; false (old one kept) when that fails. */
    public synchronized boolean refreshTls(String name) {
        ProxyListener pl = listeners.get(name);
        if (pl == null || pl.state().config().tls().isEmpty() || pl.state().config().tls().get().workloadIdentity()) {
            return false;
        }
        ListenerState s = pl.state();
        try {
            SslContext ctx = SslContexts.server(s.config().tls().get(), name);
            pl.update(new ListenerState(s.config(), s.hcm(), ctx));
            log.info("listener '{}': certificate reloaded from {}", name, s.config().tls().get().certificateChain().orElse(null));
            return true;
        } catch (ConfigException e) {
            log.warn("listener '{}': certificate files changed but cannot be used yet, keeping the old one: {}",
                    name, e.getMessage());
            return false;
        }
    }

    public SidecarConfig config() {
        return config;
    }

    public boolean ready() {
        return ready && readinessGate.getAsBoolean() && listeners.values().stream().allMatch(ProxyListener::bound);
    }

    public SidecarMetrics metrics() {
        return metrics;
    }

    public Telemetry telemetry() {
        return telemetry;
    }

    public ClusterManager clusterManager() {
        return clusters;
    }

    public synchronized Map<String, InetSocketAddress> listenerAddresses() {
        Map<String, InetSocketAddress> out = new LinkedHashMap<>();
        listeners.forEach((n, l) -> out.put(n, l.localAddress()));
        return out;
    }

    public InetSocketAddress listenerAddress(String name) {
        return listenerAddresses().get(name);
    }

    public InetSocketAddress adminAddress() {
        return adminAddress;
    }

    @Override
    public synchronized void close() {
        ready = false;
        admin.close();
        listeners.values().forEach(ProxyListener::close);
        listeners.clear();
        clusters.close();
        telemetry.close();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        background.shutdownNow();
        if (watchdog != null) {
            watchdog.close();
        }
    }
}
