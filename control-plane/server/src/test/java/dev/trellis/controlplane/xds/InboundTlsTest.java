package dev.trellis.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.MeshPolicy.TlsMode;
import dev.trellis.controlplane.policy.PolicyParser;
import dev.trellis.controlplane.policy.PolicyValidator;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The inbound listener's chains per tlsMode, PERMISSIVE in the form the sidecar sniffs on. */
class InboundTlsTest {
    static final Filter HCM = Filter.newBuilder().setName("envoy.filters.network.http_connection_manager").build();

    static Listener build(TlsMode mode) {
        return InboundTls.chains(Listener.newBuilder().setName("inbound"), HCM, mode,
                Optional.of(InboundTls.meshTransportSocket())).build();
    }

    @Test
    void strictIsOneMutualTlsChain() throws Exception {
        Listener l = build(TlsMode.STRICT);
        assertThat(l.getListenerFiltersCount()).isZero();
        assertThat(l.getFilterChainsCount()).isEqualTo(1);
        DownstreamTlsContext t = l.getFilterChains(0).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        assertThat(t.getRequireClientCertificate().getValue()).isTrue();
        assertThat(t.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName()).isEqualTo("default");
        assertThat(t.getCommonTlsContext().getValidationContextSdsSecretConfig().getName()).isEqualTo("ROOTCA");
    }

    @Test
    void permissiveIsTlsInspectorAndTwoChainsByTransportProtocol() throws Exception {
        Listener l = build(TlsMode.PERMISSIVE);
        assertThat(l.getListenerFilters(0).getName()).isEqualTo("envoy.filters.listener.tls_inspector");
        assertThat(l.getListenerFilters(0).getTypedConfig().unpack(TlsInspector.class)).isEqualTo(TlsInspector.getDefaultInstance());
        assertThat(l.getFilterChainsList()).extracting(c -> c.getFilterChainMatch().getTransportProtocol()).containsExactly("tls", "raw_buffer");
        assertThat(l.getFilterChains(0).hasTransportSocket()).isTrue();
        assertThat(l.getFilterChains(1).hasTransportSocket()).isFalse();
        assertThat(l.getFilterChains(0).getFiltersList()).isEqualTo(l.getFilterChains(1).getFiltersList());
    }

    @Test
    void disabledOrNoIdentityIsPlaintext() {
        assertThat(build(TlsMode.DISABLE).getFilterChains(0).hasTransportSocket()).isFalse();
        Listener none = InboundTls.chains(Listener.newBuilder(), HCM, TlsMode.PERMISSIVE, Optional.empty()).build();
        assertThat(none.getFilterChainsCount()).isEqualTo(1);
        assertThat(none.getListenerFiltersCount()).isZero();
    }

    @Test
    void serviceModeOverridesTheMeshDefault() throws Exception {
        MeshPolicy p = PolicyValidator.validate(PolicyParser.parse("""
                kind: MeshConfig
                name: mesh
                spec: {tlsMode: STRICT}
                ---
                kind: Service
                name: legacy
                spec: {tlsMode: PERMISSIVE}
                """, "test", "api"), 1);
        assertThat(InboundTls.mode("legacy", p)).isEqualTo(TlsMode.PERMISSIVE);
        assertThat(InboundTls.mode("users", p)).isEqualTo(TlsMode.STRICT);
        assertThat(InboundTls.mode("users", MeshPolicy.EMPTY)).isEqualTo(TlsMode.STRICT);
    }
}
