package dev.trellis.sidecar.identity;

import dev.trellis.common.cli.HostPort;
import java.nio.file.Path;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The identity flags of a sidecar in flags mode or a gateway.
 *
 * @param caFile {@code --ca-file}: the mesh bundle (null: the local control plane's default)
 * @param tokenFile {@code --token-file}: the join token for the first certificate (null: none)
 * @param namespace {@code --namespace}: the MeshConfig namespace of the SPIFFE ID
 */
public record IdentityOptions(Path caFile, Path tokenFile, String namespace) {
    public IdentityOptions {
        if (namespace == null || namespace.isBlank()) namespace = "default";
    }

    /**
     * The workload identity these flags describe for {@code service} (xDS node id {@code node}), not
     * started; bad files are named in the exception.
     */
    public WorkloadIdentity build(HostPort controlPlane, String service, String node, ScheduledExecutorService scheduler) {
        return WorkloadIdentity.builder(controlPlane.host() + ":" + controlPlane.port(), IdentityFiles.bundle(caFile), service)
                .namespace(namespace)
                .token(IdentityFiles.token(tokenFile).orElse(null))
                .node(node)
                .scheduler(scheduler)
                .build();
    }
}
