package dev.trellis.sidecar.xds;

import dev.trellis.common.cli.HostPort;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * The one gRPC channel from a sidecar to its control plane, shared by registration and ADS.
 * TLS trusting the mesh bundle (flags mode with --ca-file), or plaintext for a control plane started without TLS (tests).
 */
public final class ControlPlaneChannel {
    private ControlPlaneChannel() {}

    /** A plaintext channel to {@code target} (a control plane started without TLS, in tests). */
    public static ManagedChannel open(HostPort target) {
        return configure(NettyChannelBuilder.forAddress(target.host(), target.port()).usePlaintext());
    }

    /**
     * A TLS channel to {@code target}: {@code credentials} trust the mesh bundle ({@code --ca-file})
     * and present the workload certificate once there is one (see WorkloadIdentity#channelCredentials).
     */
    public static ManagedChannel open(HostPort target, io.grpc.ChannelCredentials credentials) {
        return configure(NettyChannelBuilder.forAddress(target.host(), target.port(), credentials));
    }

    private static ManagedChannel configure(NettyChannelBuilder b) {
        return b
                // notice a dead control plane (or a silently dropped connection) within ~40 s
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true)
                .maxInboundMessageSize(64 * 1024 * 1024)
                .build();
    }
}
