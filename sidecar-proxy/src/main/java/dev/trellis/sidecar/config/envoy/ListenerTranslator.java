package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HttpConnectionManagerConfig;
import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.config.ListenerConfig;
import dev.trellis.sidecar.config.PathNormalization;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.SocketAddr;
import dev.trellis.sidecar.config.TlsConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** {@code Listener} with one {@code HttpConnectionManager} filter chain to {@link ListenerConfig}. */
public final class ListenerTranslator {
    public static final String HCM = "envoy.filters.network.http_connection_manager";
    public static final String ROUTER = "envoy.filters.http.router";
    /** Envoy's defaults for untrusted input. */
    public static final int DEFAULT_MAX_HEADERS_COUNT = 100;
    public static final int DEFAULT_MAX_REQUEST_HEADERS_KB = 60;
    public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 100;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);
    public static final Duration DEFAULT_STREAM_IDLE_TIMEOUT = Duration.ofMinutes(5);

    private ListenerTranslator() {}

    public static ListenerConfig translate(Listener l, String path) {
        return translate(l, path, null);
    }

    /**
     * Like {@link #translate(Listener, String)}; an {@code HttpConnectionManager} with {@code rds}
     * (over ADS) takes its route table from {@code rds} by name. A null {@code rds} refuses RDS.
     */
    public static ListenerConfig translate(Listener l, String path, Function<String, RouteTable> rds) {
        Fields.allowOnly(l, path, "name", "address", "filter_chains", "traffic_direction", "stat_prefix",
                "listener_filters");
        String lp = path + " (listener '" + l.getName() + "')";
        SocketAddr addr = LoadAssignmentTranslator.address(l.getAddress(), lp + ".address");
        TransportProtocols.Choice choice = TransportProtocols.check(l, lp);
        FilterChain fc = l.getFilterChains(choice.chain());
        String fp = lp + ".filter_chains[" + choice.chain() + "]";
        Fields.allowOnly(fc, fp, "name", "filters", "transport_socket", "filter_chain_match");
        if (fc.getFiltersCount() != 1) {
            throw Fields.invalid(fp + ".filters", fc.getFiltersCount() + " filters", "exactly one: " + HCM);
        }
        Filter f = fc.getFilters(0);
        Fields.allowOnly(f, fp + ".filters[0]", "name", "typed_config");
        HttpConnectionManager hcm = EnvoyTypes.unpack(f.getTypedConfig(), HttpConnectionManager.class,
                HttpConnectionManager.getDescriptor(), fp + ".filters[0].typed_config");
        HttpConnectionManagerConfig http = hcm(hcm, fp + ".filters[0].typed_config",
                l.getTrafficDirection() == io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND, rds);
        Optional<TlsConfig.Downstream> tls = fc.hasTransportSocket()
                ? Optional.of(TlsTranslator.downstream(fc.getTransportSocket(), fp + ".transport_socket"))
                : Optional.empty();
        return new ListenerConfig(l.getName().isEmpty() ? addr.toString() : l.getName(), addr, http, tls,
                choice.permissive(), TelemetryTranslator.listener(l, hcm, fp + ".filters[0].typed_config"));
    }

    /** {@code HttpConnectionManager} to its model, with the route table inline. */
    public static HttpConnectionManagerConfig hcm(HttpConnectionManager h, String path) {
        return hcm(h, path, false);
    }

    /**
     * {@code HttpConnectionManager} to its model; {@code outbound} (a listener with
     * {@code traffic_direction: OUTBOUND}) takes Envoy's path defaults instead of Trellis's.
     */
    public static HttpConnectionManagerConfig hcm(HttpConnectionManager h, String path, boolean outbound) {
        return hcm(h, path, outbound, null);
    }

    /** With {@code rds} non-null, {@code rds} over ADS is accepted in place of an inline route_config. */
    public static HttpConnectionManagerConfig hcm(HttpConnectionManager fromXds, String path, boolean outbound,
                                                  Function<String, RouteTable> rds) {
        // rds (checked below) is the one field xDS adds to what a bootstrap may say
        HttpConnectionManager h = rds != null && fromXds.hasRds() ? fromXds.toBuilder().clearRds().build() : fromXds;
        Fields.allowOnly(h, path, "stat_prefix", "codec_type", "route_config", "http_filters",
                "common_http_protocol_options", "max_request_headers_kb", "stream_idle_timeout", "request_timeout",
                "request_headers_timeout", "generate_request_id", "http2_protocol_options", "normalize_path",
                "merge_slashes", "path_with_escaped_slashes_action", "access_log", "tracing", "xff_num_trusted_hops",
                "use_remote_address");
        HttpConnectionManagerConfig.CodecType codec = switch (h.getCodecType()) {
            case AUTO -> HttpConnectionManagerConfig.CodecType.AUTO;
            case HTTP1 -> HttpConnectionManagerConfig.CodecType.HTTP1;
            case HTTP2 -> HttpConnectionManagerConfig.CodecType.HTTP2;
            default -> throw Fields.invalid(path + ".codec_type", h.getCodecType(), "AUTO, HTTP1 or HTTP2");
        };
        RouteTable routes;
        if (fromXds.hasRds() && rds != null) {
            var r = fromXds.getRds();
            Fields.allowOnly(r, path + ".rds", "config_source", "route_config_name");
            Fields.allowOnly(r.getConfigSource(), path + ".rds.config_source", "ads", "resource_api_version");
            if (!r.getConfigSource().hasAds()) {
                throw new ConfigException(path + ".rds.config_source: not ads (expected: ads: {})");
            }
            if (r.getRouteConfigName().isEmpty()) {
                throw new ConfigException(path + ".rds.route_config_name: empty (expected: a route configuration name)");
            }
            routes = rds.apply(r.getRouteConfigName());
        } else if (!h.hasRouteConfig()) {
            throw new ConfigException(path + ".route_config: missing (expected: an inline route_config"
                    + (rds == null ? "" : " or rds") + ")");
        } else {
            routes = RouteConfigTranslator.translate(h.getRouteConfig(), path + ".route_config");
        }
        List<HttpFilterConfig> filters = HttpFilterTranslator.chain(h.getHttpFiltersList(), path + ".http_filters");
        checkPerFilterNames(routes, filters, path + ".route_config");
        int xffHops = h.getXffNumTrustedHops();
        if (h.hasUseRemoteAddress() && !h.getUseRemoteAddress().getValue()) {
            throw Fields.invalid(path + ".use_remote_address", false, "true (Trellis always appends the peer to x-forwarded-for)");
        }
        Optional<Duration> idle = Optional.of(DEFAULT_IDLE_TIMEOUT);
        int maxHeaders = DEFAULT_MAX_HEADERS_COUNT;
        if (h.hasCommonHttpProtocolOptions()) {
            var o = h.getCommonHttpProtocolOptions();
            String p = path + ".common_http_protocol_options";
            Fields.allowOnly(o, p, "idle_timeout", "max_headers_count");
            if (o.hasIdleTimeout()) {
                Duration d = Fields.duration(o.getIdleTimeout());
                idle = d.isZero() ? Optional.empty() : Optional.of(d);
            }
            if (o.hasMaxHeadersCount()) {
                maxHeaders = o.getMaxHeadersCount().getValue();
                if (maxHeaders < 1) {
                    throw Fields.invalid(p + ".max_headers_count", maxHeaders, ">= 1");
                }
            }
        }
        int kb = h.hasMaxRequestHeadersKb() ? h.getMaxRequestHeadersKb().getValue() : DEFAULT_MAX_REQUEST_HEADERS_KB;
        if (kb < 1 || kb > 8192) {
            throw Fields.invalid(path + ".max_request_headers_kb", kb, "1..8192");
        }
        int streams = DEFAULT_MAX_CONCURRENT_STREAMS;
        if (h.hasHttp2ProtocolOptions()) {
            var o = h.getHttp2ProtocolOptions();
            Fields.allowOnly(o, path + ".http2_protocol_options", "max_concurrent_streams");
            if (o.hasMaxConcurrentStreams()) {
                streams = o.getMaxConcurrentStreams().getValue();
                if (streams < 1) {
                    throw Fields.invalid(path + ".http2_protocol_options.max_concurrent_streams", streams, ">= 1");
                }
            }
        }
        return new HttpConnectionManagerConfig(h.getStatPrefix(), codec, routes, filters, idle, maxHeaders, kb * 1024,
                optional(h.hasStreamIdleTimeout(), h.getStreamIdleTimeout(), DEFAULT_STREAM_IDLE_TIMEOUT),
                optional(h.hasRequestTimeout(), h.getRequestTimeout(), null),
                optional(h.hasRequestHeadersTimeout(), h.getRequestHeadersTimeout(), null),
                !h.hasGenerateRequestId() || h.getGenerateRequestId().getValue(),
                streams, pathNormalization(h, path, outbound), xffHops);
    }

    /**
     * Trellis resolves paths by default where authorization happens (normalize_path and
     * merge_slashes on, escaped slashes decoded; {@code merge_slashes} is a plain bool in Envoy, so
     * there it cannot be turned off). An OUTBOUND listener (the app's own calls, judged at their
     * destination) keeps Envoy's defaults: nothing normalised unless asked for.
     */
    static PathNormalization pathNormalization(HttpConnectionManager h, String path, boolean outbound) {
        PathNormalization d = outbound ? PathNormalization.OUTBOUND_DEFAULT : PathNormalization.DEFAULT;
        boolean normalize = h.hasNormalizePath() ? h.getNormalizePath().getValue() : d.normalize();
        PathNormalization.EscapedSlashes escaped = switch (h.getPathWithEscapedSlashesAction()) {
            case IMPLEMENTATION_SPECIFIC_DEFAULT -> d.escapedSlashes();
            case KEEP_UNCHANGED -> PathNormalization.EscapedSlashes.KEEP_UNCHANGED;
            case REJECT_REQUEST -> PathNormalization.EscapedSlashes.REJECT_REQUEST;
            case UNESCAPE_AND_FORWARD -> PathNormalization.EscapedSlashes.UNESCAPE_AND_FORWARD;
            default -> throw Fields.invalid(path + ".path_with_escaped_slashes_action", h.getPathWithEscapedSlashesAction(),
                    "KEEP_UNCHANGED, REJECT_REQUEST or UNESCAPE_AND_FORWARD");
        };
        return new PathNormalization(normalize, d.mergeSlashes() || h.getMergeSlashes(), escaped);
    }

    /** Per-route filter configs must name a filter of the chain, of the matching kind. */
    public static void checkPerFilterNames(RouteTable routes, List<HttpFilterConfig> filters, String path) {
        java.util.Map<String, HttpFilterConfig> byName = new java.util.HashMap<>();
        filters.forEach(f -> byName.put(f.name(), f));
        for (int v = 0; v < routes.virtualHosts().size(); v++) {
            RouteTable.VirtualHost vh = routes.virtualHosts().get(v);
            for (int r = 0; r < vh.routes().size(); r++) {
                for (var e : vh.routes().get(r).perFilterConfig().entrySet()) {
                    if (e.getValue() instanceof dev.trellis.sidecar.filter.jwt.JwtAuthnConfig.RouteClaims) {
                        continue;
                    }
                    HttpFilterConfig f = byName.get(e.getKey());
                    String p = path + ".virtual_hosts[" + v + "].routes[" + r + "].typed_per_filter_config[" + e.getKey() + "]";
                    if (f == null) {
                        throw Fields.invalid(p, "no such filter", "the name of a filter in http_filters: " + byName.keySet());
                    }
                    if (!HttpFilterTranslator.fits(f, e.getValue())) {
                        throw Fields.invalid(p, e.getValue().getClass().getSimpleName(), "the per-route type of filter '"
                                + e.getKey() + "'");
                    }
                }
            }
        }
    }

    /** Envoy: an absent timeout takes its default; 0 disables it. */
    private static Optional<Duration> optional(boolean set, com.google.protobuf.Duration d, Duration dflt) {
        if (!set) {
            return Optional.ofNullable(dflt);
        }
        Duration v = Fields.duration(d);
        return v.isZero() || v.isNegative() ? Optional.empty() : Optional.of(v);
    }
}
