package dev.trellis.bench.load;

import com.google.protobuf.ByteString;
import dev.trellis.bench.grpc.EchoGrpc;
import dev.trellis.bench.grpc.EchoMessage;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * gRPC unary calls of {@code Echo/Echo} on one grpc-java channel (one HTTP/2 connection). grpc-java
 * completes calls on its own (shaded) Netty threads; completions are handed to {@code executor} so
 * the driver stays single-threaded.
 */
final class GrpcExchange implements Exchange {
    private final Executor executor;
    private final ManagedChannel channel;
    private final EchoMessage request;

    GrpcExchange(Executor executor, InetSocketAddress target, byte[] payload) {
        this.executor = executor;
        this.channel = Grpc.newChannelBuilderForAddress(target.getHostString(), target.getPort(),
                        InsecureChannelCredentials.create())
                .directExecutor()
                .maxInboundMessageSize(Math.max(4 << 20, payload.length + 1024))
                .build();
        this.request = EchoMessage.newBuilder().setPayload(ByteString.copyFrom(payload)).build();
    }

    @Override
    public void send(Completion done) {
        ClientCalls.asyncUnaryCall(channel.newCall(EchoGrpc.getEchoMethod(), CallOptions.DEFAULT), request,
                new StreamObserver<>() {
                    @Override
                    public void onNext(EchoMessage value) {
                        // the payload itself is not checked: the proxies under test must not change it, but
                        // comparing it would put the generator's CPU into the figures
                    }

                    @Override
                    public void onError(Throwable t) {
                        String error = "gRPC " + Status.fromThrowable(t).getCode();
                        executor.execute(() -> done.complete(error));
                    }

                    @Override
                    public void onCompleted() {
                        executor.execute(() -> done.complete(null));
                    }
                });
    }

    @Override
    public Executor executor() {
        return executor;
    }

    @Override
    public int maxConcurrency() {
        return H2cExchange.MAX_STREAMS;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
