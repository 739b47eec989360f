package dev.trellis.controlplane.xds;

import com.google.protobuf.Any;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.registry.ServiceInstance;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;

/**
 * Client side mesh mTLS of {@code outbound|<service>} clusters: the sidecar's workload certificate
 * (SDS name {@value #SDS_CERTIFICATE}), the mesh bundle ({@value #SDS_ROOT_CA}) and the destination's
 * SPIFFE ID as the only accepted URI SAN. The sidecar resolves both SDS names to its own workload
 * identity; certificates never travel in xDS.
 */
public final class UpstreamMtls {
    public static final String SDS_CERTIFICATE = "default";
    public static final String SDS_ROOT_CA = "ROOTCA";

    private UpstreamMtls() {}

    /** {@code spiffe://<trustDomain>/ns/<namespace>/sa/<service>} of the mesh config. */
    public static String spiffeId(MeshPolicy policy, String service) {
        return "spiffe://" + policy.meshConfig().trustDomain() + "/ns/" + policy.meshConfig().namespace() + "/sa/" + service;
    }

    /**
     * Calls to {@code service} use mTLS unless its mode is DISABLE or every registered instance of
     * it runs without a sidecar ({@code app_port} 0: a proxyless gRPC server has no certificate).
     */
    static boolean applies(String service, MeshPolicy policy, List<ServiceInstance> members) {
        if (InboundTls.mode(service, policy) == MeshPolicy.TlsMode.DISABLE) return false;
        return members.isEmpty() || members.stream().anyMatch(i -> i.appPort() > 0);
    }

    static TransportSocket transportSocket(String destinationId) {
        CommonTlsContext common = CommonTlsContext.newBuilder()
                .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName(SDS_CERTIFICATE))
                .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(CertificateValidationContext.newBuilder()
                                .addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                                        .setSanType(SubjectAltNameMatcher.SanType.URI)
                                        .setMatcher(StringMatcher.newBuilder().setExact(destinationId))))
                        .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName(SDS_ROOT_CA)))
                .build();
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(common).build())).build();
    }
}
