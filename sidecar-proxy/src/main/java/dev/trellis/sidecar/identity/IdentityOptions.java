package dev.trellis.sidecar.identity;

import dev.trellis.common.cli.HostPort;
import java.nio.file.Path;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The identity flags of a sidecar in flags mode or a gateway.
 *
 * @param caFile {@code --ca-file}: the mesh bundle (null: the local control plane's default)
 * @param tokenFile {@code --token-file}: the join token for the first certificate (null: none)
 *
 * <p>There is no namespace flag: the control plane decides the SPIFFE ID's trust domain and
 * namespace (its MeshConfig) and the sidecar learns them from the certificate it issues.
 */
public record IdentityOptions(Path caFile, Path tokenFile) {

    /**
     * The workload identity these flags describe for {@code service} (xDS node id {@code node}), not
     * started; bad files are named in the exception.
     */
    public WorkloadIdentity build(HostPort controlPlane, String service, String node, ScheduledExecutorService scheduler) {
        return WorkloadIdentity.builder(controlPlane.host() + ":" + controlPlane.port(), IdentityFiles.bundle(caFile), service)
                .token(IdentityFiles.token(tokenFile).orElse(null))
                .node(node)
                .scheduler(scheduler)
                .build();
    }
}
