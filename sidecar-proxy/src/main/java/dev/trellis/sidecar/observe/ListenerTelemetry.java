package dev.trellis.sidecar.observe;

import dev.trellis.sidecar.admin.SidecarMetrics;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.error.StreamObserver;
import dev.trellis.sidecar.error.UpstreamAttemptObserver;
import io.netty.handler.codec.http2.Http2Headers;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

/**
 * The {@link StreamObserver} of one listener: records metrics, writes the access log line and
 * traces, with the listener's reporter side and the sidecar's own service name.
 */
public final class ListenerTelemetry implements StreamObserver {
    private final SidecarMetrics metrics;
    private final String reporter;
    private final String localService;
    private final List<AccessLogWriter> accessLogs;
    private final Tracing tracing;
    private final Clock clock;

    /** {@code tracing} is {@code null} when the listener does not trace. */
    public ListenerTelemetry(SidecarMetrics metrics, String reporter, String localService,
                             List<AccessLogWriter> accessLogs, Tracing tracing, Clock clock) {
        this.metrics = metrics;
        this.reporter = reporter;
        this.localService = localService == null || localService.isEmpty() ? "unknown" : localService;
        this.accessLogs = List.copyOf(accessLogs);
        this.tracing = tracing;
        this.clock = clock;
    }

    @Override
    public void onRequestHeaders(StreamInfo info, Http2Headers headers) {
        if (tracing != null) {
            tracing.startServer(info, headers);
        }
    }

    @Override
    public UpstreamAttemptObserver onUpstreamAttempt(StreamInfo info, String upstreamHost, Http2Headers headers) {
        return tracing == null ? UpstreamAttemptObserver.NONE : tracing.startClient(info, upstreamHost, headers);
    }

    @Override
    public void onDownstreamProtocolError(String listener, String reason) {
        metrics.downstreamProtocolError(listener, reason);
    }

    @Override
    public void onComplete(StreamInfo info) {
        String destination = serviceOfCluster(info.cluster());
        String source;
        if ("destination".equals(reporter)) {
            source = serviceOfIdentity(info.sourceIdentity());
            if ("-".equals(info.cluster())) {
                destination = localService;
            }
        } else {
            source = localService;
        }
        metrics.record(info, reporter, source, destination);
        if (tracing != null) {
            tracing.endServer(info);
        }
        if (!accessLogs.isEmpty()) {
            Instant start = clock.instant().minusNanos(info.durationNanos());
            String line = AccessLogFormat.line(info, start, destination);
            for (AccessLogWriter w : accessLogs) {
                w.offer(line);
            }
        }
    }

    /**
     * The service a cluster stands for: the control plane names clusters {@code outbound|svc},
     * {@code outbound|svc|subset} and {@code inbound|svc}; a static cluster is its own name.
     */
    public static String serviceOfCluster(String cluster) {
        if (cluster == null || cluster.equals("-") || cluster.isEmpty()) {
            return "unknown";
        }
        if (cluster.startsWith("outbound|") || cluster.startsWith("inbound|")) {
            String rest = cluster.substring(cluster.indexOf('|') + 1);
            int bar = rest.indexOf('|');
            return bar < 0 ? rest : rest.substring(0, bar);
        }
        return cluster;
    }

    /** {@code spiffe://<td>/ns/<ns>/sa/<service>} to the service; {@code unknown} otherwise. */
    public static String serviceOfIdentity(String identity) {
        if (identity == null || !identity.startsWith("spiffe://")) {
            return "unknown";
        }
        int sa = identity.lastIndexOf("/sa/");
        return sa < 0 || sa + 4 >= identity.length() ? "unknown" : identity.substring(sa + 4);
    }
}
