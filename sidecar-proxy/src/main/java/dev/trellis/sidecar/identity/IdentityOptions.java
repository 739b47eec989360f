package dev.trellis.sidecar.identity;

import java.nio.file.Path;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The identity flags of a sidecar in flags mode.
 *
 * @param caFile {@code --ca-file}: the mesh bundle (null: the local control plane's default)
 * @param tokenFile {@code --token-file}: the join token for the first certificate (null: none)
 * @param namespace {@code --namespace}: the MeshConfig namespace of the SPIFFE ID
 */
public record IdentityOptions(Path caFile, Path tokenFile, String namespace) {
    public IdentityOptions {
        if (namespace == null || namespace.isBlank()) namespace = "default";
    }

    /** The workload identity these flags describe, not started; bad files are named in the exception. */
    public WorkloadIdentity build(String controlPlaneHost, int controlPlanePort, String service, String instanceId,
                                  ScheduledExecutorService scheduler) {
        return WorkloadIdentity.builder(controlPlaneHost + ":" + controlPlanePort, IdentityFiles.bundle(caFile), service)
                .namespace(namespace)
                .token(IdentityFiles.token(tokenFile).orElse(null))
                .node("sidecar~" + service + "~" + instanceId)
                .scheduler(scheduler)
                .build();
    }
}
