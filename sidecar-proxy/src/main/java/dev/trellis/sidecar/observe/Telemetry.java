package dev.trellis.sidecar.observe;

import dev.trellis.sidecar.admin.SidecarMetrics;
import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.ListenerConfig;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.config.TelemetryConfig;
import dev.trellis.sidecar.error.StreamObserver;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's telemetry across config versions: the metrics registry, one access log writer
 * per sink and one tracer per collector and sampling ratio, shared by the listeners that name
 * them and closed when no listener does any more.
 */
public final class Telemetry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Telemetry.class);

    private record TracerKey(TelemetryConfig.Provider provider, double ratio, String service) {}

    private final SidecarMetrics metrics;
    private final Clock clock;
    private final int accessLogCapacity;
    private final Map<String, AccessLogWriter> writers = new HashMap<>();
    private final Map<TracerKey, Tracing> tracers = new HashMap<>();
    private final Set<Object> used = new HashSet<>();

    public Telemetry(SidecarMetrics metrics, Clock clock, int accessLogCapacity) {
        this.metrics = metrics;
        this.clock = clock;
        this.accessLogCapacity = accessLogCapacity;
    }

    public SidecarMetrics metrics() {
        return metrics;
    }

    /** The observer of listener {@code l} in config {@code config}; call {@link #commit} after the last one. */
    public synchronized StreamObserver observer(ListenerConfig l, SidecarConfig config) {
        TelemetryConfig t = l.telemetry();
        String service = config.node() == null ? "" : config.node().cluster();
        List<AccessLogWriter> logs = new ArrayList<>();
        for (TelemetryConfig.AccessLog a : t.accessLogs()) {
            String key = a.describe();
            used.add(key);
            logs.add(writers.computeIfAbsent(key, k -> new AccessLogWriter(k, sink(a), accessLogCapacity,
                    metrics.accessLogDropped(), metrics.accessLogWritten())));
        }
        Tracing tracing = null;
        if (t.tracing().isPresent()) {
            Optional<TelemetryConfig.Provider> p = t.tracing().get().provider().or(config::tracing);
            if (p.isPresent()) {
                TracerKey key = new TracerKey(p.get(), t.tracing().get().samplingRatio(),
                        service.isEmpty() ? "trellis-sidecar" : service);
                used.add(key);
                tracing = tracers.computeIfAbsent(key, k -> Tracing.create(k.provider(), k.ratio(), k.service()));
            } else {
                log.warn("listener '{}': tracing without a provider, not tracing", l.name());
            }
        }
        return new ListenerTelemetry(metrics, t.direction().reporter(), service, logs, tracing, clock);
    }

    /** Closes the writers and tracers the last config did not use, and updates the config metrics. */
    public synchronized void commit(SidecarConfig config) {
        writers.entrySet().removeIf(e -> {
            if (!used.contains(e.getKey())) {
                e.getValue().close();
                return true;
            }
            return false;
        });
        tracers.entrySet().removeIf(e -> {
            if (!used.contains(e.getKey())) {
                e.getValue().close();
                return true;
            }
            return false;
        });
        used.clear();
        metrics.configApplied(certificateFiles(config));
    }

    /** A config failed before {@link #commit}: what it marked as used no longer counts. */
    public synchronized void abandon() {
        used.clear();
    }

    private static AccessLogWriter.Sink sink(TelemetryConfig.AccessLog a) {
        if (a.path().isEmpty()) {
            return () -> new FileOutputStream(FileDescriptor.out);
        }
        Path p = a.path().get();
        return () -> Files.newOutputStream(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
    }

    /** Each configured leaf certificate file, by owner ({@code listener/NAME}, {@code cluster/NAME}). */
    static Map<String, Path> certificateFiles(SidecarConfig config) {
        Map<String, Path> out = new TreeMap<>();
        for (ListenerConfig l : config.listeners()) {
            l.tls().flatMap(t -> t.certificateChain()).ifPresent(p -> out.put("listener/" + l.name(), p));
        }
        for (ClusterConfig c : config.clusters().values()) {
            c.tls().flatMap(t -> t.certificateChain()).ifPresent(p -> out.put("cluster/" + c.name(), p));
        }
        return out;
    }

    /** Flushes spans (tests and shutdown). */
    public synchronized void flushTraces(java.time.Duration timeout) {
        tracers.values().forEach(t -> t.flush(timeout));
    }

    @Override
    public synchronized void close() {
        tracers.values().forEach(Tracing::close);
        tracers.clear();
        writers.values().forEach(AccessLogWriter::close);
        writers.clear();
    }
}
