package dev.trellis.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.MeshPolicy.TlsMode;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import java.util.Optional;

/**
 * The inbound listener's transport for a service's {@code tlsMode} (its Service document, else
 * MeshConfig's): STRICT one mTLS chain; PERMISSIVE Istio's form, a {@code tls_inspector} and two
 * chains matched by {@code transport_protocol} ({@code tls} with mTLS, {@code raw_buffer}
 * plaintext) around the same network filter, so the sidecar serves both on one port; DISABLE
 * plaintext. Without a TLS transport socket (no workload identity wired) the listener is plaintext.
 */
final class InboundTls {
    static final String TLS_INSPECTOR = "envoy.filters.listener.tls_inspector";

    private InboundTls() {}

    /** The mode that applies to {@code service}. */
    static TlsMode mode(String service, MeshPolicy policy) {
        return policy.serviceOrDefault(service).tlsMode().orElse(policy.meshConfig().tlsMode());
    }

    /**
     * mTLS with the sidecar's workload identity through the SDS names it resolves itself
     * ({@code default}: its certificate, {@code ROOTCA}: the mesh bundle); a client certificate is required.
     */
    static TransportSocket meshTransportSocket() {
        DownstreamTlsContext ctx = DownstreamTlsContext.newBuilder()
                .setRequireClientCertificate(BoolValue.of(true))
                .setCommonTlsContext(CommonTlsContext.newBuilder()
                        .addAlpnProtocols("h2").addAlpnProtocols("http/1.1")
                        .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default"))
                        .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("ROOTCA")))
                .build();
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(ctx)).build();
    }

    /** Adds the filter chains (and for PERMISSIVE the tls_inspector) around {@code network} to {@code listener}. */
    static Listener.Builder chains(Listener.Builder listener, Filter network, TlsMode mode, Optional<TransportSocket> tls) {
        if (tls.isEmpty() || mode == TlsMode.DISABLE) {
            return listener.addFilterChains(FilterChain.newBuilder().addFilters(network));
        }
        if (mode == TlsMode.STRICT) {
            return listener.addFilterChains(FilterChain.newBuilder().addFilters(network).setTransportSocket(tls.get()));
        }
        return listener
                .addListenerFilters(ListenerFilter.newBuilder().setName(TLS_INSPECTOR)
                        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder()
                        .setFilterChainMatch(FilterChainMatch.newBuilder().setTransportProtocol("tls"))
                        .addFilters(network).setTransportSocket(tls.get()))
                .addFilterChains(FilterChain.newBuilder()
                        .setFilterChainMatch(FilterChainMatch.newBuilder().setTransportProtocol("raw_buffer"))
                        .addFilters(network));
    }
}
