package dev.trellis.sidecar.xds;

import dev.trellis.common.cli.HostPort;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.identity.WorkloadIdentity;
import dev.trellis.sidecar.internal.DaemonThreads;
import io.grpc.ManagedChannel;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * What a proxy run against a control plane (flags-mode sidecar, gateway) starts with: the xDS
 * executor, the workload identity (null: none, plaintext control plane in tests), the
 * {@link Sidecar} whose SDS secrets {@code default}/{@code ROOTCA} resolve to that identity, and the
 * control-plane channel (TLS trusting {@code --ca-file} with an identity). The identity is not
 * started: the caller decides what waits for the first certificate.
 */
public record ProxyRuntime(Sidecar sidecar, ScheduledExecutorService executor, WorkloadIdentity identity,
                           ManagedChannel channel) {

    /**
     * Creates the sidecar (binding only the admin server: the caller installs its readiness gate,
     * then calls {@link Sidecar#listen()}) and opens the channel. {@code service} is the
     * identity's service (the SPIFFE ID's {@code sa}), {@code node} the xDS node id reported with
     * bundle acks. Bad identity files are thrown as {@link ConfigException}.
     */
    public static ProxyRuntime start(Supplier<SidecarConfig> source, int ioThreads, HostPort controlPlane,
                                     IdentityOptions id, String service, String node) throws InterruptedException {
        ScheduledExecutorService executor = DaemonThreads.scheduler("trellis-xds");
        WorkloadIdentity identity;
        try {
            identity = id == null ? null : id.build(controlPlane, service, node, executor);
        } catch (IllegalArgumentException e) {
            executor.shutdownNow();
            throw new ConfigException(e.getMessage());
        }
        Sidecar sidecar;
        try {
            // admin only: the caller installs its readiness gate, then calls Sidecar#listen,
            // so /ready never says 200 before the gate is in place
            sidecar = Sidecar.create(source, ioThreads, identity);
        } catch (RuntimeException | InterruptedException e) {
            if (identity != null) identity.close();
            executor.shutdownNow();
            throw e;
        }
        if (identity != null) {
            identity.registerMetrics(sidecar.metrics().registry());
        }
        ManagedChannel channel = identity == null ? ControlPlaneChannel.open(controlPlane)
                : ControlPlaneChannel.open(controlPlane, identity.channelCredentials());
        return new ProxyRuntime(sidecar, executor, identity, channel);
    }

    /** True without an identity, else while the workload certificate is valid. */
    public boolean identityReady() {
        return identity == null || identity.ready();
    }
}
