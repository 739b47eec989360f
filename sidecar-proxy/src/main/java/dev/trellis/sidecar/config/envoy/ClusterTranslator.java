package dev.trellis.sidecar.config.envoy;

import com.google.protobuf.Any;
import dev.trellis.sidecar.config.CircuitBreakerConfig;
import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.LbConfig;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.TlsConfig;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** {@code Cluster} to {@link ClusterConfig}, with Envoy's defaults where a field is absent. */
public final class ClusterTranslator {
    /** Envoy's default connect timeout. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Envoy's default per-connection buffer limit. */
    public static final int DEFAULT_BUFFER_LIMIT = 1024 * 1024;
    static final String HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    private ClusterTranslator() {}

    static boolean isIpLiteral(String s) {
        return s.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (s.indexOf(':') >= 0 && s.matches("[0-9a-fA-F:.]+"));
    }

    public static ClusterConfig translate(Cluster c, String path) {
        return translate(c, path, false);
    }

    /**
     * With {@code xds} set (a cluster from CDS), {@code type: EDS} with {@code eds_cluster_config}
     * over ADS is accepted; its endpoints come from EDS later (see {@link LoadAssignmentTranslator}).
     */
    public static ClusterConfig translate(Cluster fromXds, String path, boolean xds) {
        // what xDS adds to a bootstrap's cluster: EDS (checked below) and metadata (changes nothing here)
        Cluster c = xds ? fromXds.toBuilder().clearEdsClusterConfig().clearMetadata().build() : fromXds;
        Fields.allowOnly(c, path, java.util.stream.Stream.concat(java.util.stream.Stream.of("name", "type",
                "connect_timeout", "load_assignment", "typed_extension_protocol_options",
                "per_connection_buffer_limit_bytes", "transport_socket", "dns_refresh_rate", "alt_stat_name",
                "circuit_breakers", "outlier_detection", "health_checks"),
                java.util.Arrays.stream(LbPolicyTranslator.FIELDS)).toArray(String[]::new));
        if (c.getName().isEmpty()) {
            throw new ConfigException(path + ".name: empty (expected: a cluster name)");
        }
        String cp = path + " (cluster '" + c.getName() + "')";
        ClusterConfig.DiscoveryType type = switch (c.getType()) {
            case STATIC -> ClusterConfig.DiscoveryType.STATIC;
            case STRICT_DNS -> ClusterConfig.DiscoveryType.STRICT_DNS;
            case LOGICAL_DNS -> ClusterConfig.DiscoveryType.LOGICAL_DNS;
            case EDS -> {
                if (!xds) {
                    throw Fields.invalid(cp + ".type", c.getType(), "STATIC, STRICT_DNS or LOGICAL_DNS in a bootstrap");
                }
                var eds = fromXds.getEdsClusterConfig();
                Fields.allowOnly(eds, cp + ".eds_cluster_config", "eds_config", "service_name");
                Fields.allowOnly(eds.getEdsConfig(), cp + ".eds_cluster_config.eds_config", "ads", "resource_api_version");
                if (!eds.getEdsConfig().hasAds()) {
                    throw new ConfigException(cp + ".eds_cluster_config.eds_config: not ads (expected: ads: {})");
                }
                yield ClusterConfig.DiscoveryType.EDS;
            }
            default -> throw Fields.invalid(cp + ".type", c.getType(), "STATIC, STRICT_DNS, LOGICAL_DNS" + (xds ? " or EDS" : ""));
        };
        LbConfig lb = LbPolicyTranslator.translate(c, cp);
        Duration connect = c.hasConnectTimeout() ? Fields.positive(c.getConnectTimeout(), cp + ".connect_timeout")
                : DEFAULT_CONNECT_TIMEOUT;
        List<ClusterConfig.EndpointConfig> endpoints = LoadAssignmentTranslator.translate(c.getLoadAssignment(),
                cp + ".load_assignment");
        if (type == ClusterConfig.DiscoveryType.STATIC) {
            for (ClusterConfig.EndpointConfig e : endpoints) {
                if (!isIpLiteral(e.address().host())) {
                    throw Fields.invalid(cp + ".load_assignment", "endpoint address '" + e.address().host() + "'",
                            "an IP address in a STATIC cluster; use STRICT_DNS or LOGICAL_DNS for names");
                }
            }
        }
        if (type == ClusterConfig.DiscoveryType.LOGICAL_DNS && endpoints.size() > 1) {
            throw Fields.invalid(cp + ".load_assignment", endpoints.size() + " endpoints", "exactly one for LOGICAL_DNS");
        }
        ClusterConfig.UpstreamProtocol protocol = ClusterConfig.UpstreamProtocol.HTTP1;
        for (Map.Entry<String, Any> e : c.getTypedExtensionProtocolOptionsMap().entrySet()) {
            String p = cp + ".typed_extension_protocol_options['" + e.getKey() + "']";
            if (!e.getKey().equals(HTTP_OPTIONS) && !e.getKey().equals("envoy.upstreams.http.http_protocol_options")) {
                throw Fields.invalid(p, "'" + e.getKey() + "'", HTTP_OPTIONS);
            }
            HttpProtocolOptions o = EnvoyTypes.unpack(e.getValue(), HttpProtocolOptions.class,
                    HttpProtocolOptions.getDescriptor(), p);
            Fields.allowOnly(o, p, "explicit_http_config", "use_downstream_protocol_config");
            if (o.hasUseDownstreamProtocolConfig()) {
                var ud = o.getUseDownstreamProtocolConfig();
                Fields.allowOnly(ud, p + ".use_downstream_protocol_config", "http_protocol_options", "http2_protocol_options");
                Fields.allowOnly(ud.getHttpProtocolOptions(), p + ".use_downstream_protocol_config.http_protocol_options");
                Fields.allowOnly(ud.getHttp2ProtocolOptions(), p + ".use_downstream_protocol_config.http2_protocol_options");
                protocol = ClusterConfig.UpstreamProtocol.DOWNSTREAM;
                continue;
            }
            var ex = o.getExplicitHttpConfig();
            Fields.allowOnly(ex, p + ".explicit_http_config", "http_protocol_options", "http2_protocol_options");
            if (ex.hasHttp2ProtocolOptions()) {
                Fields.allowOnly(ex.getHttp2ProtocolOptions(), p + ".explicit_http_config.http2_protocol_options");
                protocol = ClusterConfig.UpstreamProtocol.HTTP2;
            } else if (ex.hasHttpProtocolOptions()) {
                Fields.allowOnly(ex.getHttpProtocolOptions(), p + ".explicit_http_config.http_protocol_options");
            } else {
                throw new ConfigException(p + ".explicit_http_config: empty (expected: http_protocol_options or http2_protocol_options)");
            }
        }
        int buffer = c.hasPerConnectionBufferLimitBytes() ? c.getPerConnectionBufferLimitBytes().getValue() : DEFAULT_BUFFER_LIMIT;
        if (buffer < 1024) {
            throw Fields.invalid(cp + ".per_connection_buffer_limit_bytes", buffer, ">= 1024");
        }
        Optional<TlsConfig.Upstream> tls = c.hasTransportSocket()
                ? Optional.of(TlsTranslator.upstream(c.getTransportSocket(), cp + ".transport_socket"))
                : Optional.empty();
        Optional<Duration> dns = c.hasDnsRefreshRate()
                ? Optional.of(Fields.positive(c.getDnsRefreshRate(), cp + ".dns_refresh_rate")) : Optional.empty();
        CircuitBreakerConfig[] cb = ClusterResilienceTranslator.circuitBreakers(c, cp);
        return new ClusterConfig(c.getName(), type, connect, lb, endpoints, protocol, buffer, 1024, dns, tls,
                cb[0], cb[1], ClusterResilienceTranslator.outlierDetection(c, cp),
                ClusterResilienceTranslator.healthChecks(c, cp));
    }
}
