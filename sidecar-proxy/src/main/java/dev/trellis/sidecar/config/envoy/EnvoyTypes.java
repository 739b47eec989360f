package dev.trellis.sidecar.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.trellis.sidecar.config.ConfigException;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.List;

/** The {@code typed_config} types Trellis understands; anything else is refused with its path. */
public final class EnvoyTypes {
    static final List<Descriptor> SUPPORTED = List.of(
            HttpConnectionManager.getDescriptor(),
            Router.getDescriptor(),
            DownstreamTlsContext.getDescriptor(),
            UpstreamTlsContext.getDescriptor(),
            HttpProtocolOptions.getDescriptor(),
            com.github.xds.type.v3.TypedStruct.getDescriptor(),
            com.github.udpa.udpa.type.v1.TypedStruct.getDescriptor(),
            io.envoyproxy.envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin.getDescriptor(),
            io.envoyproxy.envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest.getDescriptor(),
            io.envoyproxy.envoy.extensions.load_balancing_policies.random.v3.Random.getDescriptor(),
            io.envoyproxy.envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash.getDescriptor(),
            io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDescriptor(),
            io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.getDescriptor(),
            io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog.getDescriptor(),
            io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute.getDescriptor(),
            io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDescriptor());

    /** The registry JsonFormat uses to read {@code Any} fields. */
    public static final JsonFormat.TypeRegistry REGISTRY = JsonFormat.TypeRegistry.newBuilder().add(SUPPORTED).build();

    private EnvoyTypes() {}

    static String supportedNames() {
        return String.join(", ", SUPPORTED.stream().map(Descriptor::getFullName).toList());
    }

    /** Unpacks {@code any} as {@code type}, or refuses it naming the path and the type found. */
    public static <T extends Message> T unpack(Any any, Class<T> type, Descriptor descriptor, String path) {
        String url = any.getTypeUrl();
        String name = url.substring(url.lastIndexOf('/') + 1);
        if (!name.equals(descriptor.getFullName())) {
            throw new ConfigException(path + ": type '" + name + "' not supported here (expected: "
                    + descriptor.getFullName() + ")");
        }
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(path + ": cannot read " + name + ": " + e.getMessage(), e);
        }
    }
}
