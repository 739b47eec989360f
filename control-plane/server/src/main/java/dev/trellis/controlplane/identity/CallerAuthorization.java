package dev.trellis.controlplane.identity;

import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.registry.RegistrationGuard;
import dev.trellis.controlplane.xds.ProxyNode;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may register which instance and subscribe as which xDS node, decided on the {@link Caller}
 * that {@link AuthInterceptor} put in the call's context.
 *
 * <p>With authentication required (the TLS control plane, the default), a caller must prove a
 * service, by a workload certificate of the mesh (TLS client certificate) or a join token
 * ({@code authorization: Bearer <token>}): no proof is {@code UNAUTHENTICATED}; a proof for
 * another service than the registered instance's, or than the ADS node's
 * ({@code sidecar~<service>~..}, {@code gateway~<name>~..}), is {@code PERMISSION_DENIED}. A
 * proxyless gRPC client (any other node id) has no service in its node and may subscribe with the
 * proof of any service. Without it (the explicit plaintext dev/test mode) anonymous callers pass,
 * but a caller that did prove a service still registers only that service.
 */
public final class CallerAuthorization {
    private static final Logger log = LoggerFactory.getLogger(CallerAuthorization.class);

    private final boolean required;

    /** @param required whether a caller must prove a service (false only for the plaintext dev/test mode) */
    public CallerAuthorization(boolean required) {
        this.required = required;
    }

    public boolean required() {
        return required;
    }

    /** The guard of {@code trellis.v1.Registration/Register}. */
    public RegistrationGuard registrationGuard() {
        return (Instance instance) -> check(Caller.current(), "register of service '" + instance.getService() + "'",
                Optional.of(instance.getService()));
    }

    /**
     * Checks the node of every ADS request that carries one (the first must), for state of the
     * world and delta ADS; a refused stream is closed with the status and sees nothing more.
     */
    public ServerInterceptor adsGuard() {
        return new AdsGuard();
    }

    /** Null when {@code caller} may act for {@code service} (empty: any proven service), else the refusal. */
    Status check(Caller caller, String action, Optional<String> service) {
        if (caller.service().isEmpty()) {
            if (!required && caller.refusal().isEmpty()) return null;
            String expected = service.map(s -> "the workload certificate of service '" + s + "' or a join token for it")
                    .orElse("a workload certificate or a join token of the mesh")
                    + " in 'authorization: Bearer <token>' ('trellis token create --service "
                    + service.orElse("NAME") + "')";
            String why = caller.refusal().isEmpty() ? "no credentials" : caller.refusal();
            log.warn("{} refused: {}", action, why);
            return Status.UNAUTHENTICATED.withDescription(action + ": " + why + " (expected: " + expected + ")");
        }
        String proven = caller.service().get();
        if (service.isPresent() && !service.get().equals(proven)) {
            String via = caller.via() == Caller.Via.CERTIFICATE ? "workload certificate" : "join token";
            log.warn("{} refused: the caller is service '{}' by its {}", action, proven, via);
            return Status.PERMISSION_DENIED.withDescription(action + ": the caller is service '" + proven + "' by its "
                    + via + " (expected: a " + via + " of service '" + service.get() + "')");
        }
        return null;
    }

    /** The service an ADS node id names, if it names one (sidecars and gateways). */
    static Optional<String> nodeService(Node node) {
        ProxyNode p = ProxyNode.of(node);
        return p.type() == ProxyNode.Type.PROXYLESS ? Optional.empty() : Optional.of(p.service());
    }

    private final class AdsGuard implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            Caller caller = Caller.current();
            ClosableCall<Q, R> guarded = new ClosableCall<>(call);
            ServerCall.Listener<Q> delegate = next.startCall(guarded, headers);
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
                private String checkedNode;
                private boolean refused;

                @Override
                public void onMessage(Q message) {
                    if (refused) return;
                    Node node = message instanceof DiscoveryRequest d && d.hasNode() ? d.getNode()
                            : message instanceof DeltaDiscoveryRequest d && d.hasNode() ? d.getNode() : null;
                    Status denied = null;
                    if (node != null && !node.getId().equals(checkedNode)) {
                        denied = check(caller, "ADS for node '" + node.getId() + "'", nodeService(node));
                        checkedNode = denied == null ? node.getId() : null;
                    } else if (node == null && checkedNode == null && required) {
                        denied = Status.INVALID_ARGUMENT.withDescription(
                                "ADS: first request without node (expected: node with the id of the proxy)");
                    }
                    if (denied != null) {
                        refused = true;
                        guarded.closeFirst(denied);
                        // the ADS implementation ends its stream as if the client had gone (its own close is ignored)
                        super.onCancel();
                        return;
                    }
                    super.onMessage(message);
                }

                @Override
                public void onHalfClose() {
                    if (!refused) super.onHalfClose();
                }

                @Override
                public void onCancel() {
                    if (!refused) super.onCancel();
                }

                @Override
                public void onComplete() {
                    if (!refused) super.onComplete();
                }

                @Override
                public void onReady() {
                    if (!refused) super.onReady();
                }
            };
        }
    }

    /** Lets the guard close the call first; the ADS implementation's later close and sends are then ignored. */
    private static final class ClosableCall<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
        private volatile boolean closed;

        ClosableCall(ServerCall<Q, R> call) {
            super(call);
        }

        synchronized void closeFirst(Status status) {
            if (closed) return;
            closed = true;
            super.close(status, new Metadata());
        }

        @Override
        public synchronized void close(Status status, Metadata trailers) {
            if (closed) return;
            closed = true;
            super.close(status, trailers);
        }

        @Override
        public void sendMessage(R message) {
            synchronized (this) {
                if (closed) return;
                super.sendMessage(message);
            }
        }
    }
}
