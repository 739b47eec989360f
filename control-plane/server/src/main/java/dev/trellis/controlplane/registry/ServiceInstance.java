package dev.trellis.controlplane.registry;

import dev.trellis.controlplane.api.v1.HealthStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One registered instance of a service, as the registry holds it.
 *
 * @param address     where peers dial it ({@code address:inboundPort})
 * @param appPort     the app's loopback port behind the sidecar (0 when there is no sidecar)
 * @param upstreams   services it calls (empty: all)
 * @param connected   false while its registration call is broken and the grace period runs
 * @param appGrpcPort the app's loopback gRPC port behind the sidecar (0: none; gRPC goes to {@code appPort})
 */
public record ServiceInstance(String service, String instanceId, String nodeId, String address, int inboundPort,
                              int appPort, String protocol, Map<String, String> labels, List<String> upstreams,
                              HealthStatus health, String healthDetail, Instant registeredAt, boolean connected,
                              int appGrpcPort) {

    /** An instance whose app serves gRPC, if at all, on {@code appPort}. */
    public ServiceInstance(String service, String instanceId, String nodeId, String address, int inboundPort,
                           int appPort, String protocol, Map<String, String> labels, List<String> upstreams,
                           HealthStatus health, String healthDetail, Instant registeredAt, boolean connected) {
        this(service, instanceId, nodeId, address, inboundPort, appPort, protocol, labels, upstreams, health,
                healthDetail, registeredAt, connected, 0);
    }

    /** Routable: in EDS. */
    public boolean routable() {
        return health == HealthStatus.HEALTHY;
    }

    public String endpoint() {
        return (address.indexOf(':') >= 0 ? "[" + address + "]" : address) + ":" + inboundPort;
    }

    ServiceInstance withHealth(HealthStatus h, String detail) {
        return new ServiceInstance(service, instanceId, nodeId, address, inboundPort, appPort, protocol, labels,
                upstreams, h, detail, registeredAt, connected, appGrpcPort);
    }

    ServiceInstance withConnected(boolean c) {
        return new ServiceInstance(service, instanceId, nodeId, address, inboundPort, appPort, protocol, labels,
                upstreams, health, healthDetail, registeredAt, c, appGrpcPort);
    }

    /** The xDS node id a sidecar for this instance uses. */
    public static String sidecarNodeId(String service, String instanceId) {
        return "sidecar~" + service + "~" + instanceId;
    }
}
