package dev.trellis.sidecar;

import dev.trellis.sidecar.admin.AdminServer;
import dev.trellis.sidecar.admin.SidecarMetrics;
import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.ClusterManager;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.ListenerConfig;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.http.HttpConnectionManager;
import dev.trellis.sidecar.internal.SslContexts;
import dev.trellis.sidecar.internal.Transports;
import dev.trellis.sidecar.listener.ListenerState;
import dev.trellis.sidecar.listener.ProxyListener;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
    private final ClusterManager clusters;
    private final SidecarMetrics metrics = new SidecarMetrics();
    private final Map<String, ProxyListener> listeners = new LinkedHashMap<>();
    private final AdminServer admin;
    private volatile SidecarConfig config;
    private volatile boolean ready;
    private InetSocketAddress adminAddress;

    private Sidecar(Supplier<SidecarConfig> source, int workerThreads) {
        this.source = source;
        this.boss = Transports.group(1, "trellis-accept");
        this.workers = Transports.group(workerThreads, "trellis-io");
        this.background = Executors.newScheduledThreadPool(1, r -> {
            Thread t = new Thread(r, "trellis-background");
            t.setDaemon(true);
            return t;
        });
        this.clusters = new ClusterManager(background);
        this.admin = new AdminServer(this, background);
    }

    /**
     * Loads the config from {@code source}, binds every listener and the admin server.
     * A config error is thrown as {@link ConfigException} and nothing stays open.
     */
    public static Sidecar start(Supplier<SidecarConfig> source, int workerThreads) throws InterruptedException {
        Sidecar s = new Sidecar(source, workerThreads);
        try {
            s.apply(source.get());
            Optional<dev.trellis.sidecar.config.SocketAddr> a = s.config.admin();
            if (a.isPresent()) {
                s.adminAddress = s.admin.bind(a.get(), s.boss);
            }
        } catch (RuntimeException | InterruptedException e) {
            s.close();
            throw e;
        }
        s.ready = true;
        log.info("sidecar ready: transport={}, tls={}, listeners={}, admin={}", Transports.name(),
                SslContexts.provider(), s.listenerAddresses(), s.adminAddress);
        return s;
    }

    /** Re-reads the config; on failure the old config keeps serving and the reason is returned. */
    public synchronized Optional<String> reload() {
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
        log.info("reloaded: listeners={}, clusters={}", listenerAddresses(), next.clusters().keySet());
        return Optional.empty();
    }

    private synchronized void apply(SidecarConfig next) throws InterruptedException {
        // build everything that can fail before anything is swapped
        Map<String, SslContext> ssl = new LinkedHashMap<>();
        for (ListenerConfig l : next.listeners()) {
            if (l.tls().isPresent()) {
                ssl.put(l.name(), SslContexts.server(l.tls().get(), l.name()));
            }
        }
        Map<String, Cluster> snapshot = clusters.update(next.clusters());
        for (ListenerConfig l : next.listeners()) {
            HttpConnectionManager hcm = new HttpConnectionManager(l.name(), l.http(), snapshot, metrics,
                    l.tls().isPresent(), System::nanoTime);
            ListenerState state = new ListenerState(l, hcm, ssl.get(l.name()));
            ProxyListener existing = listeners.get(l.name());
            if (existing != null && existing.state().config().address().equals(l.address())) {
                existing.update(state);
            } else {
                if (existing != null) {
                    existing.close();
                }
                ProxyListener pl = new ProxyListener(state, boss, workers);
                pl.bind();
                listeners.put(l.name(), pl);
            }
        }
        listeners.keySet().removeIf(name -> {
            boolean gone = next.listeners().stream().noneMatch(l -> l.name().equals(name));
            if (gone) {
                listeners.get(name).close();
            }
            return gone;
        });
        this.config = next;
    }

    public SidecarConfig config() {
        return config;
    }

    public boolean ready() {
        return ready && listeners.values().stream().allMatch(ProxyListener::bound);
    }

    public SidecarMetrics metrics() {
        return metrics;
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
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        background.shutdownNow();
    }
}
