package dev.trellis.sidecar.admin;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
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
    private final Map<Tags, RequestMeters> requestMeters = new ConcurrentHashMap<>();
    private final AtomicLong configGeneration = new AtomicLong();
    private final AtomicLong configUpdatedMillis = new AtomicLong();
    private final MultiGauge connections;
    private final MultiGauge activeRequests;
    private final MultiGauge endpoints;
    private final MultiGauge certificates;
    private final Counter accessLogDropped;
    private final Counter accessLogWritten;
    private volatile Supplier<Collection<Cluster>> clusters = List::of;
    private volatile Map<String, Instant> certificateExpiry = Map.of();

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

    /** A config was applied: bumps the generation and the last update time. */
    public void configApplied(Map<String, Instant> certificateNotAfter) {
        configGeneration.incrementAndGet();
        configUpdatedMillis.set(clock.millis());
        certificateExpiry = Map.copyOf(certificateNotAfter);
    }

    public Counter accessLogDropped() {
        return accessLogDropped;
    }

    public Counter accessLogWritten() {
        return accessLogWritten;
    }

    private record RequestMeters(Counter requests, Timer duration, DistributionSummary requestBytes,
                                 DistributionSummary responseBytes) {}

    /** Records one finished request as seen by a listener of the given {@code reporter}. */
    public void record(StreamInfo info, String reporter, String sourceService, String destinationService) {
        Tags tags = Tags.of(
                "reporter", reporter,
                "source_service", sourceService,
                "destination_service", destinationService,
                "response_code", Integer.toString(info.responseCode()),
                "response_flags", ResponseFlag.render(info.flags()),
                "grpc_status", info.grpcStatus(),
                "request_protocol", info.grpc() ? "grpc" : "http");
        RequestMeters m = requestMeters.computeIfAbsent(tags, this::requestMeters);
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

    /** The Prometheus text exposition, gauges refreshed from the live clusters first. */
    public String scrape() {
        refreshGauges();
        return registry.scrape();
    }

    private void refreshGauges() {
        List<MultiGauge.Row<?>> conns = new ArrayList<>();
        List<MultiGauge.Row<?>> active = new ArrayList<>();
        List<MultiGauge.Row<?>> eps = new ArrayList<>();
        for (Cluster c : clusters.get()) {
            int open = 0;
            int inFlight = 0;
            Map<String, Integer> byHealth = new TreeMap<>();
            for (Host h : c.hosts()) {
                open += h.connections().get();
                inFlight += h.activeRequests().get();
                byHealth.merge(h.healthy() ? "healthy" : h.health().name().toLowerCase(java.util.Locale.ROOT), 1,
                        Integer::sum);
            }
            conns.add(MultiGauge.Row.of(Tags.of("cluster", c.name()), open));
            active.add(MultiGauge.Row.of(Tags.of("cluster", c.name()), inFlight));
            byHealth.forEach((health, n) -> eps.add(MultiGauge.Row.of(Tags.of("cluster", c.name(), "health", health), n)));
        }
        connections.register(conns, true);
        activeRequests.register(active, true);
        endpoints.register(eps, true);
        Instant now = clock.instant();
        List<MultiGauge.Row<?>> certs = new ArrayList<>();
        certificateExpiry.forEach((owner, notAfter) -> certs.add(MultiGauge.Row.of(Tags.of("owner", owner),
                Duration.between(now, notAfter).toMillis() / 1000.0)));
        certificates.register(certs, true);
    }

    private static Duration[] buckets(double... seconds) {
        Duration[] out = new Duration[seconds.length];
        for (int i = 0; i < seconds.length; i++) {
            out[i] = Duration.ofNanos((long) (seconds[i] * 1e9));
        }
        return out;
    }

}
