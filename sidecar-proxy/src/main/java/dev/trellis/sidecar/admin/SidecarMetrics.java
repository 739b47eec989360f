package dev.trellis.sidecar.admin;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.upstream.ConnectionPool;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The sidecar's Prometheus metrics, modelled on Istio's standard metrics. Request metrics carry
 * only bounded labels (services, codes, flags, protocol), never paths, ids or raw header values.
 */
public final class SidecarMetrics {
    /** Labels of the request metrics, in Istio's spelling. */
    public static final List<String> REQUEST_LABELS = List.of("reporter", "source_service", "destination_service",
            "response_code", "response_flags", "grpc_status", "request_protocol");

    private static final Duration[] LATENCY_BUCKETS = buckets(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            0.5, 1, 2.5, 5, 10, 30);
    private static final double[] SIZE_BUCKETS = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Clock clock;
    private final Map<RequestKey, RequestMeters> requestMeters = new ConcurrentHashMap<>();
    private final AtomicLong configGeneration = new AtomicLong();
    private final AtomicLong configUpdatedMillis = new AtomicLong();
    private final MultiGauge connections;
    private final MultiGauge activeRequests;
    private final MultiGauge endpoints;
    private final MultiGauge certificates;
    private final MultiGauge poolConnections;
    private final MultiGauge pendingRequests;
    private final Counter accessLogDropped;
    private final Counter accessLogWritten;
    private volatile Supplier<Collection<Cluster>> clusters = List::of;
    private volatile Map<String, Path> certificateFiles = Map.of();
    /** notAfter by file, re-read when the file's modification time or size changes (certificates rotate in place). */
    private final Map<Path, CertificateStamp> notAfterCache = new ConcurrentHashMap<>();

    private record CertificateStamp(long modified, long size, Instant notAfter) {}

    public SidecarMetrics() {
        this(Clock.systemUTC());
    }

    public SidecarMetrics(Clock clock) {
        this.clock = clock;
        connections = MultiGauge.builder("trellis.upstream.connections")
                .description("Open upstream connections by cluster").register(registry);
        activeRequests = MultiGauge.builder("trellis.upstream.active.requests")
                .description("Requests in flight to the upstream by cluster").register(registry);
        endpoints = MultiGauge.builder("trellis.upstream.endpoints")
                .description("Endpoints by cluster and health").register(registry);
        certificates = MultiGauge.builder("trellis.certificate.expiry").baseUnit("seconds")
                .description("Seconds until a configured TLS certificate expires, by owner").register(registry);
        poolConnections = MultiGauge.builder("trellis.upstream.pool.connections")
                .description("Open pooled upstream connections by cluster and state (active: carrying a stream, idle: kept for reuse)")
                .register(registry);
        pendingRequests = MultiGauge.builder("trellis.upstream.pending.requests")
                .description("Requests waiting in the connection pools for a connection or stream, by cluster")
                .register(registry);
        Gauge.builder("trellis.config.generation", configGeneration, AtomicLong::doubleValue)
                .description("Configs applied since start (1 after the first)").register(registry);
        TimeGauge.builder("trellis.config.last.update.timestamp", configUpdatedMillis, TimeUnit.MILLISECONDS,
                AtomicLong::doubleValue).description("When the current config was applied (Unix time)").register(registry);
        accessLogDropped = Counter.builder("trellis.access.log.dropped")
                .description("Access log lines dropped because the writer's queue was full").register(registry);
        accessLogWritten = Counter.builder("trellis.access.log.written")
                .description("Access log lines handed to the sink").register(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Where the upstream gauges read their clusters (refreshed at each scrape). */
    public void clusters(Supplier<Collection<Cluster>> source) {
        this.clusters = source;
    }

    /**
     * A config was applied: bumps the generation and the last update time. {@code certificates}
     * are the leaf certificate files by owner ({@code listener/NAME}, {@code cluster/NAME}), read
     * at each scrape so a certificate rotated in place shows its new expiry.
     */
    public void configApplied(Map<String, Path> certificates) {
        configGeneration.incrementAndGet();
        configUpdatedMillis.set(clock.millis());
        certificateFiles = Map.copyOf(certificates);
        notAfterCache.keySet().retainAll(certificateFiles.values());
    }

    public Counter accessLogDropped() {
        return accessLogDropped;
    }

    public Counter accessLogWritten() {
        return accessLogWritten;
    }

    private record RequestMeters(Counter requests, Timer duration, DistributionSummary requestBytes,
                                 DistributionSummary responseBytes) {}

    /**
     * The labels of one request's meters. A plain record rather than micrometer {@code Tags}, so a
     * request whose meters exist costs one small allocation, not a sorted tag array per request.
     */
    private record RequestKey(String reporter, String sourceService, String destinationService, int responseCode,
                              Set<ResponseFlag> flags, String grpcStatus, boolean grpc) {
        Tags tags() {
            return Tags.of(
                    "reporter", reporter,
                    "source_service", sourceService,
                    "destination_service", destinationService,
                    "response_code", Integer.toString(responseCode),
                    "response_flags", ResponseFlag.render(flags),
                    "grpc_status", grpcStatus,
                    "request_protocol", grpc ? "grpc" : "http");
        }
    }

    /** Records one finished request as seen by a listener of the given {@code reporter}. */
    public void record(StreamInfo info, String reporter, String sourceService, String destinationService) {
        Set<ResponseFlag> flags = info.flags().isEmpty() ? Set.of() : EnumSet.copyOf(info.flags());
        RequestKey key = new RequestKey(reporter, sourceService, destinationService, info.responseCode(), flags,
                info.grpcStatus(), info.grpc());
        RequestMeters m = requestMeters.get(key);
        if (m == null) {
            m = requestMeters.computeIfAbsent(key, k -> requestMeters(k.tags()));
        }
        m.requests.increment();
        m.duration.record(info.durationNanos(), TimeUnit.NANOSECONDS);
        m.requestBytes.record(info.bytesReceived());
        m.responseBytes.record(info.bytesSent());
        if (info.flags().contains(ResponseFlag.RBAC)) {
            Counter.builder("trellis.rbac.denied").description("Requests denied by an RBAC filter (authorization)")
                    .tag("listener", info.listener()).register(registry).increment();
        }
        String cluster = info.cluster();
        if (!"-".equals(cluster)) {
            if (info.attempts() > 1) {
                Counter.builder("trellis.upstream.retries").description("Upstream attempts after the first")
                        .tag("cluster", cluster).register(registry).increment(info.attempts() - 1);
            }
            if (info.flags().contains(ResponseFlag.UO)) {
                Counter.builder("trellis.upstream.overflows")
                        .description("Requests refused by a circuit breaker (flag UO)")
                        .tag("cluster", cluster).register(registry).increment();
            }
            if (info.flags().contains(ResponseFlag.URX)) {
                Counter.builder("trellis.upstream.retry.limit.exceeded")
                        .description("Requests that used up their retries (flag URX)")
                        .tag("cluster", cluster).register(registry).increment();
            }
        }
    }

    private RequestMeters requestMeters(Tags tags) {
        return new RequestMeters(
                Counter.builder("trellis.requests").description("Requests handled by the sidecar")
                        .tags(tags).register(registry),
                Timer.builder("trellis.request.duration").description("Time from request start to response end")
                        .serviceLevelObjectives(LATENCY_BUCKETS).tags(tags).register(registry),
                DistributionSummary.builder("trellis.request").baseUnit("bytes")
                        .description("Request body sizes").serviceLevelObjectives(SIZE_BUCKETS)
                        .tags(tags).register(registry),
                DistributionSummary.builder("trellis.response").baseUnit("bytes")
                        .description("Response body sizes").serviceLevelObjectives(SIZE_BUCKETS)
                        .tags(tags).register(registry));
    }

    /** A downstream connection or stream refused for malformed or slow input, before any request formed. */
    public void downstreamProtocolError(String listener, String reason) {
        Counter.builder("trellis_downstream_protocol_errors")
                .description("Downstream requests or connections refused for malformed or slow input, by reason")
                .tag("listener", listener)
                .tag("reason", reason)
                .register(registry).increment();
    }

    /**
     * The Prometheus text exposition, gauges refreshed from the live clusters first. Reads
     * certificate files: call it off the event loops.
     */
    public String scrape() {
        refreshGauges();
        return registry.scrape();
    }

    private void refreshGauges() {
        List<MultiGauge.Row<?>> conns = new ArrayList<>();
        List<MultiGauge.Row<?>> active = new ArrayList<>();
        List<MultiGauge.Row<?>> eps = new ArrayList<>();
        List<MultiGauge.Row<?>> pooled = new ArrayList<>();
        List<MultiGauge.Row<?>> waiting = new ArrayList<>();
        Collection<Cluster> all = clusters.get();
        for (Cluster c : all) {
            int open = 0;
            int inFlight = 0;
            Map<String, Integer> byHealth = new TreeMap<>();
            for (Host h : c.hosts()) {
                open += h.connections().get();
                inFlight += h.activeRequests().get();
                byHealth.merge(health(h), 1, Integer::sum);
            }
            Tags cluster = Tags.of("cluster", c.name());
            conns.add(MultiGauge.Row.of(cluster, open));
            active.add(MultiGauge.Row.of(cluster, inFlight));
            byHealth.forEach((health, n) -> eps.add(MultiGauge.Row.of(cluster.and("health", health), n)));
            int poolOpen = 0;
            int poolIdle = 0;
            int poolWaiting = 0;
            for (ConnectionPool p : c.pools()) {
                poolOpen += p.connections();
                poolIdle += p.idleConnections();
                poolWaiting += p.pendingRequests();
            }
            pooled.add(MultiGauge.Row.of(cluster.and("state", "active"), Math.max(0, poolOpen - poolIdle)));
            pooled.add(MultiGauge.Row.of(cluster.and("state", "idle"), poolIdle));
            waiting.add(MultiGauge.Row.of(cluster, poolWaiting));
        }
        connections.register(conns, true);
        activeRequests.register(active, true);
        endpoints.register(eps, true);
        poolConnections.register(pooled, true);
        pendingRequests.register(waiting, true);
        Instant now = clock.instant();
        List<MultiGauge.Row<?>> certs = new ArrayList<>();
        certificateFiles.forEach((owner, file) -> notAfter(file).ifPresent(notAfter -> certs.add(
                MultiGauge.Row.of(Tags.of("owner", owner), Duration.between(now, notAfter).toMillis() / 1000.0))));
        certificates.register(certs, true);
    }

    /**
     * An endpoint's health for {@code trellis_upstream_endpoints}: {@code healthy}, {@code ejected}
     * (outlier detection), {@code unhealthy} (failing active health checks or marked so by
     * discovery) or {@code draining}.
     */
    static String health(Host h) {
        if (h.healthy()) {
            return "healthy";
        }
        if (h.ejectedFor() != null) {
            return "ejected";
        }
        if (h.failedActiveHealthCheck()) {
            return "unhealthy";
        }
        return h.health().name().toLowerCase(java.util.Locale.ROOT);
    }

    private java.util.Optional<Instant> notAfter(Path file) {
        long modified;
        long size;
        try {
            modified = Files.getLastModifiedTime(file).toMillis();
            size = Files.size(file);
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
        CertificateStamp cached = notAfterCache.get(file);
        if (cached != null && cached.modified() == modified && cached.size() == size) {
            return java.util.Optional.of(cached.notAfter());
        }
        try (InputStream in = Files.newInputStream(file)) {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            Instant notAfter = cert.getNotAfter().toInstant();
            notAfterCache.put(file, new CertificateStamp(modified, size, notAfter));
            return java.util.Optional.of(notAfter);
        } catch (IOException | CertificateException | RuntimeException e) {
            // half-written during a rotation, or not PEM: no series until it reads again
            return java.util.Optional.empty();
        }
    }

    private static Duration[] buckets(double... seconds) {
        Duration[] out = new Duration[seconds.length];
        for (int i = 0; i < seconds.length; i++) {
            out[i] = Duration.ofNanos((long) (seconds[i] * 1e9));
        }
        return out;
    }

}
