package dev.trellis.controlplane.registry;

import com.google.protobuf.util.Durations;
import dev.trellis.controlplane.api.v1.Deregister;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.Registered;
import dev.trellis.controlplane.api.v1.RegistrationGrpc;
import dev.trellis.controlplane.api.v1.RegistrationRequest;
import dev.trellis.controlplane.api.v1.RegistrationResponse;
import dev.trellis.controlplane.api.v1.RemovalAcknowledged;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@code trellis.v1.Registration} gRPC service: one call per sidecar instance (see registration.proto). */
public final class RegistrationService extends RegistrationGrpc.RegistrationImplBase {
    private static final Logger log = LoggerFactory.getLogger(RegistrationService.class);
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?");
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9._/]*[A-Za-z0-9])?");
    private static final Set<String> PROTOCOLS = Set.of("http", "http2", "grpc", "tcp");
    static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofSeconds(10);
    static final Duration MAX_ACK_TIMEOUT = Duration.ofSeconds(60);

    private final Registry registry;
    private final RemovalTracker removals;
    private final RegistrationGuard guard;
    private final Clock clock;

    public RegistrationService(Registry registry, RemovalTracker removals, RegistrationGuard guard, Clock clock) {
        this.registry = registry;
        this.removals = removals;
        this.guard = guard;
        this.clock = clock;
    }

    @Override
    public StreamObserver<RegistrationRequest> register(StreamObserver<RegistrationResponse> responses) {
        return new Call(responses);
    }

    /** Checks an instance; returns the first problem as {@code field: value (expected: ...)}, or null. */
    static String invalid(Instance i) {
        if (!NAME.matcher(i.getService()).matches()) {
            return "instance.service: '" + i.getService() + "' (expected: lower-case letters, digits, '-' and '.')";
        }
        if (!ID.matcher(i.getInstanceId()).matches()) {
            return "instance.instance_id: '" + i.getInstanceId() + "' (expected: letters, digits, '-', '_' and '.')";
        }
        if (i.getAddress().isBlank()) {
            return "instance.address: '' (expected: an IP address or host name peers can dial)";
        }
        if (i.getInboundPort() < 1 || i.getInboundPort() > 65535) {
            return "instance.inbound_port: " + i.getInboundPort() + " (expected: 1..65535)";
        }
        if (i.getAppPort() > 65535) {
            return "instance.app_port: " + i.getAppPort() + " (expected: 0..65535)";
        }
        if (i.getAppGrpcPort() != 0) {
            if (i.getAppGrpcPort() > 65535) {
                return "instance.app_grpc_port: " + i.getAppGrpcPort() + " (expected: 0..65535)";
            }
            if (i.getAppPort() == 0) {
                return "instance.app_grpc_port: " + i.getAppGrpcPort() + " (expected: 0 without an app_port)";
            }
            if (i.getAppGrpcPort() == i.getAppPort()) {
                return "instance.app_grpc_port: " + i.getAppGrpcPort() + " (expected: a port other than app_port)";
            }
            if ("tcp".equals(i.getProtocol())) {
                return "instance.app_grpc_port: " + i.getAppGrpcPort() + " (expected: 0 for protocol tcp)";
            }
        }
        if (!i.getProtocol().isEmpty() && !PROTOCOLS.contains(i.getProtocol())) {
            return "instance.protocol: '" + i.getProtocol() + "' (expected: http, http2, grpc or tcp)";
        }
        for (Map.Entry<String, String> l : i.getLabelsMap().entrySet()) {
            if (!LABEL.matcher(l.getKey()).matches()) {
                return "instance.labels: '" + l.getKey() + "' (expected: a label name of letters, digits, '-', '_', '.', '/')";
            }
        }
        for (String u : i.getUpstreamsList()) {
            if (!NAME.matcher(u).matches()) {
                return "instance.upstreams: '" + u + "' (expected: a service name)";
            }
        }
        return null;
    }

    private final class Call implements StreamObserver<RegistrationRequest> {
        private final StreamObserver<RegistrationResponse> out;
        private Registry.Lease lease;
        private boolean deregistered;
        private boolean closed;

        Call(StreamObserver<RegistrationResponse> out) {
            this.out = out;
        }

        @Override
        public synchronized void onNext(RegistrationRequest req) {
            if (closed) return;
            switch (req.getKindCase()) {
                case REGISTER -> register(req.getRegister(), req.getHealthAtRegister());
                case HEALTH -> {
                    if (!requireLease("health")) return;
                    HealthStatus s = req.getHealth().getStatus();
                    if (s == HealthStatus.UNRECOGNIZED) s = HealthStatus.HEALTH_UNKNOWN;
                    registry.health(lease, s, req.getHealth().getDetail());
                }
                case DEREGISTER -> {
                    if (!requireLease("deregister")) return;
                    deregister(req.getDeregister());
                }
                default -> fail(Status.INVALID_ARGUMENT.withDescription(
                        "request.kind: not set (expected: register, health or deregister)"));
            }
        }

        private boolean requireLease(String what) {
            if (lease == null) {
                fail(Status.INVALID_ARGUMENT.withDescription(
                        "request." + what + ": before register (expected: register as the first message)"));
                return false;
            }
            if (deregistered) {
                fail(Status.FAILED_PRECONDITION.withDescription(
                        "request." + what + ": after deregister (expected: nothing more on this call)"));
                return false;
            }
            return true;
        }

        private void register(Instance i, dev.trellis.controlplane.api.v1.HealthReport health) {
            if (lease != null) {
                fail(Status.FAILED_PRECONDITION.withDescription(
                        "request.register: second register on one call (expected: one instance per call)"));
                return;
            }
            String problem = invalid(i);
            if (problem != null) {
                fail(Status.INVALID_ARGUMENT.withDescription(problem));
                return;
            }
            Status denied = guard.check(i);
            if (denied != null) {
                fail(denied);
                return;
            }
            HealthStatus status = health.getStatus() == HealthStatus.UNRECOGNIZED ? HealthStatus.HEALTH_UNKNOWN
                    : health.getStatus();
            String nodeId = ServiceInstance.sidecarNodeId(i.getService(), i.getInstanceId());
            ServiceInstance inst = new ServiceInstance(i.getService(), i.getInstanceId(), nodeId, i.getAddress(),
                    i.getInboundPort(), i.getAppPort(), i.getProtocol().isEmpty() ? "http" : i.getProtocol(),
                    Map.copyOf(i.getLabelsMap()), List.copyOf(i.getUpstreamsList()), status, health.getDetail(),
                    clock.instant(), true, i.getAppGrpcPort());
            lease = registry.register(inst);
            out.onNext(RegistrationResponse.newBuilder().setRegistered(Registered.newBuilder()
                    .setNodeId(nodeId)
                    .setGracePeriod(Durations.fromNanos(registry.gracePeriod().toNanos()))).build());
        }

        private void deregister(Deregister d) {
            deregistered = true;
            ServiceInstance removed = registry.deregister(lease);
            Duration bound = d.hasAckTimeout() && Durations.toNanos(d.getAckTimeout()) > 0
                    ? Duration.ofNanos(Durations.toNanos(d.getAckTimeout())) : DEFAULT_ACK_TIMEOUT;
            if (bound.compareTo(MAX_ACK_TIMEOUT) > 0) bound = MAX_ACK_TIMEOUT;
            if (removed == null) {
                // another call took the instance over: nothing of ours left to wait for
                answer(new RemovalTracker.Result(true, List.of(), Duration.ZERO));
                return;
            }
            removals.awaitRemoval(removed.instanceId(), bound).whenComplete((r, e) -> {
                if (e != null) {
                    log.warn("waiting for removal of {} failed", removed.instanceId(), e);
                    r = new RemovalTracker.Result(false, List.of(), Duration.ZERO);
                }
                answer(r);
            });
        }

        private synchronized void answer(RemovalTracker.Result r) {
            if (closed) return;
            out.onNext(RegistrationResponse.newBuilder().setRemovalAcknowledged(RemovalAcknowledged.newBuilder()
                    .setComplete(r.complete()).addAllPendingNodes(r.pending())
                    .setWaited(Durations.fromNanos(r.waited().toNanos()))).build());
            closed = true;
            out.onCompleted();
        }

        private void fail(Status s) {
            closed = true;
            if (lease != null && !deregistered) registry.disconnected(lease);
            out.onError(s.asRuntimeException());
        }

        @Override
        public synchronized void onError(Throwable t) {
            ended();
            closed = true;
        }

        @Override
        public synchronized void onCompleted() {
            ended();
            if (!closed && !deregistered) {
                closed = true;
                out.onCompleted();
            }
        }

        private void ended() {
            if (lease != null && !deregistered) registry.disconnected(lease);
        }
    }
}
