package dev.trellis.sidecar.admin;

import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.error.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.TimeUnit;

/** Prometheus metrics of finished streams: requests by listener, cluster, code and flags; durations by cluster. */
public final class SidecarMetrics implements StreamObserver {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    @Override
    public void onComplete(StreamInfo info) {
        Counter.builder("trellis_requests")
                .description("Finished downstream requests")
                .tag("listener", info.listener())
                .tag("cluster", info.cluster())
                .tag("code", Integer.toString(info.responseCode()))
                .tag("flags", ResponseFlag.render(info.flags()))
                .register(registry).increment();
        if (info.flags().contains(ResponseFlag.RBAC)) {
            Counter.builder("trellis_rbac_denied")
                    .description("Requests denied by an RBAC filter (authorization)")
                    .tag("listener", info.listener())
                    .register(registry).increment();
        }
        Timer.builder("trellis_request_duration")
                .description("Time from request start to response end")
                .tag("cluster", info.cluster())
                .register(registry).record(info.durationNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void onDownstreamProtocolError(String listener, String reason) {
        Counter.builder("trellis_downstream_protocol_errors")
                .description("Downstream requests or connections refused for malformed or slow input, by reason")
                .tag("listener", listener)
                .tag("reason", reason)
                .register(registry).increment();
    }

    public String scrape() {
        return registry.scrape();
    }
}
