package dev.trellis.sidecar.xds;

import dev.trellis.common.cli.HostPort;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * The one gRPC channel from a sidecar to its control plane, shared by registration and ADS.
 * Plaintext for now; this is the single place where TLS and join-token credentials plug in.
 */
public final class ControlPlaneChannel {
    private ControlPlaneChannel() {}

    /** A channel to {@code target}; connecting happens lazily and again after failures. */
    public static ManagedChannel open(HostPort target) {
        return NettyChannelBuilder.forAddress(target.host(), target.port())
                .usePlaintext()
                // notice a dead control plane (or a silently dropped connection) within ~40 s
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true)
                .maxInboundMessageSize(64 * 1024 * 1024)
                .build();
    }
}
