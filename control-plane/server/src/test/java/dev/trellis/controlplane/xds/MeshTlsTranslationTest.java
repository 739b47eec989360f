package dev.trellis.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.PolicyParser;
import dev.trellis.controlplane.policy.PolicyValidator;
import dev.trellis.controlplane.registry.ServiceInstance;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Mesh mTLS in xDS: SDS names "default"/"ROOTCA", the destination's SPIFFE ID as SAN matcher, per-service modes. */
class MeshTlsTranslationTest {
    private static MeshPolicy policy(String yaml) throws Exception {
        return yaml.isEmpty() ? MeshPolicy.EMPTY : PolicyValidator.validate(PolicyParser.parse(yaml, "test", "api"), 1);
    }

    private static ServiceInstance instance(String svc, String id, int appPort) {
        return new ServiceInstance(svc, id, "sidecar~" + svc + "~" + id, "10.0.0.1", 15006, appPort, "http",
                Map.of(), List.of(), HealthStatus.HEALTHY, "", Instant.EPOCH, true);
    }

    private static ProxyNode sidecar(String svc, int appPort) {
        return ProxyNode.of(Node.newBuilder().setId("sidecar~" + svc + "~1").setMetadata(Struct.newBuilder()
                .putFields("TRELLIS_APP_PORT", Value.newBuilder().setNumberValue(appPort).build())).build());
    }

    @Test
    void outboundClustersCheckTheDestinationsSpiffeIdAndInboundRequiresClientCertificates() throws Exception {
        MeshPolicy p = policy("""
                kind: MeshConfig
                name: mesh
                spec: {trustDomain: corp.example, namespace: prod}
                """);
        XdsResources r = Translator.translate(sidecar("web", 8080), null, p, Map.of("users", List.of(instance("users", "u1", 8081))));
        UpstreamTlsContext up = r.clusters().get("outbound|users").getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        var common = up.getCommonTlsContext();
        assertThat(common.getTlsCertificateSdsSecretConfigs(0).getName()).isEqualTo("default");
        assertThat(common.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName()).isEqualTo("ROOTCA");
        SubjectAltNameMatcher san = common.getCombinedValidationContext().getDefaultValidationContext().getMatchTypedSubjectAltNames(0);
        assertThat(san.getSanType()).isEqualTo(SubjectAltNameMatcher.SanType.URI);
        assertThat(san.getMatcher().getExact()).isEqualTo("spiffe://corp.example/ns/prod/sa/users");

        Listener in = r.listeners().get(Translator.INBOUND);
        assertThat(in.getFilterChainsCount()).isEqualTo(1);
        DownstreamTlsContext down = in.getFilterChains(0).getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        assertThat(down.getRequireClientCertificate().getValue()).isTrue();
        assertThat(down.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName()).isEqualTo("default");
        assertThat(down.getCommonTlsContext().getValidationContextSdsSecretConfig().getName()).isEqualTo("ROOTCA");
        assertThat(down.getCommonTlsContext().getAlpnProtocolsList()).containsExactly("h2", "http/1.1");
    }

    @Test
    void permissiveSniffsDisableIsPlaintextAndProxylessServersAreCalledInPlaintext() throws Exception {
        MeshPolicy p = policy("""
                kind: Service
                name: web
                spec: {tlsMode: PERMISSIVE}
                ---
                kind: Service
                name: legacy
                spec: {tlsMode: DISABLE}
                """);
        XdsResources r = Translator.translate(sidecar("web", 8080), null, p, Map.of(
                "legacy", List.of(instance("legacy", "l1", 8081)),
                "echo", List.of(instance("echo", "e1", 0)),
                "users", List.of()));
        Listener in = r.listeners().get(Translator.INBOUND);
        assertThat(in.getListenerFilters(0).getName()).isEqualTo("envoy.filters.listener.tls_inspector");
        assertThat(in.getFilterChainsList()).extracting(fc -> fc.getFilterChainMatch().getTransportProtocol())
                .containsExactly("tls", "raw_buffer");
        assertThat(in.getFilterChains(0).hasTransportSocket()).isTrue();
        assertThat(in.getFilterChains(1).hasTransportSocket()).isFalse();
        assertThat(r.clusters().get("outbound|legacy").hasTransportSocket()).isFalse();
        assertThat(r.clusters().get("outbound|echo").hasTransportSocket()).as("only proxyless instances").isFalse();
        assertThat(r.clusters().get("outbound|users").hasTransportSocket()).as("no instance yet: mesh default").isTrue();

        XdsResources legacy = Translator.translate(sidecar("legacy", 8081), null, p, Map.of());
        assertThat(legacy.listeners().get(Translator.INBOUND).getFilterChains(0).hasTransportSocket()).isFalse();
        // proxyless clients (grpc-java's xDS client) get no mesh TLS
        XdsResources proxyless = Translator.translate(ProxyNode.of(Node.newBuilder().setId("client-1").build()), null, p,
                Map.of("users", List.of(instance("users", "u1", 8081))));
        assertThat(proxyless.clusters().get("outbound|users").hasTransportSocket()).isFalse();
    }
}
