package dev.trellis.sidecar.http;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.config.HttpConnectionManagerConfig;
import dev.trellis.sidecar.error.StreamObserver;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.filter.Filters;
import dev.trellis.sidecar.router.RouteMatcher;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * One listener's HTTP connection manager as of one config version: immutable, shared by all
 * streams that start while it is current. A reload makes a new one; streams in flight keep theirs.
 */
public final class HttpConnectionManager {
    private final String listener;
    private final HttpConnectionManagerConfig config;
    private final RouteMatcher routes;
    private final Map<String, Cluster> clusters;
    private final List<FilterFactory> filters;
    private final StreamObserver observer;
    private final LongSupplier nanoTime;
    private final boolean tls;

    public HttpConnectionManager(String listener, HttpConnectionManagerConfig config, Map<String, Cluster> clusters,
                                 StreamObserver observer, boolean tls, LongSupplier nanoTime) {
        this(listener, config, clusters, observer, tls, nanoTime, null);
    }

    /** With the filter chain given ({@code null}: built from the config). */
    public HttpConnectionManager(String listener, HttpConnectionManagerConfig config, Map<String, Cluster> clusters,
                                 StreamObserver observer, boolean tls, LongSupplier nanoTime, List<FilterFactory> filters) {
        this.listener = listener;
        this.config = config;
        this.routes = new RouteMatcher(config.routes());
        this.clusters = clusters;
        this.observer = observer;
        this.tls = tls;
        this.nanoTime = nanoTime;
        this.filters = filters != null ? List.copyOf(filters)
                : Filters.chain(config, clusters, nanoTime, java.time.Clock.systemUTC());
    }

    public String listener() { return listener; }
    public HttpConnectionManagerConfig config() { return config; }
    public RouteMatcher routes() { return routes; }
    /** The clusters as of this config version. */
    public Map<String, Cluster> clusters() { return clusters; }
    public List<FilterFactory> filters() { return filters; }
    public StreamObserver observer() { return observer; }
    public long nanoTime() { return nanoTime.getAsLong(); }
    /** The downstream scheme. */
    public String scheme() { return tls ? "https" : "http"; }

    /** Starts a stream on {@code downstream}. */
    public ActiveStream newStream(Downstream downstream) {
        return new ActiveStream(this, downstream);
    }
}
