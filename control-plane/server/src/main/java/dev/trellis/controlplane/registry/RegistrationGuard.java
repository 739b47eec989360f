package dev.trellis.controlplane.registry;

import dev.trellis.controlplane.api.v1.Instance;
import io.grpc.Status;

/**
 * Decides whether the caller of a registration may register {@code instance}. The identity work
 * plugs in a guard that compares the caller's authenticated service (from its certificate or join
 * token, put in the gRPC {@link io.grpc.Context} by a server interceptor) with the instance's.
 */
@FunctionalInterface
public interface RegistrationGuard {
    RegistrationGuard ALLOW_ALL = instance -> null;

    /** Returns null to allow, or the status (e.g. PERMISSION_DENIED with a reason) that ends the call. */
    Status check(Instance instance);
}
