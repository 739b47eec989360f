package dev.trellis.sidecar.testing;

import io.grpc.Context;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A real grpc-java server with byte[] methods: unary echo, slow unary, bidi echo. */
public final class GrpcEcho implements AutoCloseable {
    public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    public static final MethodDescriptor<byte[], byte[]> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
    public static final MethodDescriptor<byte[], byte[]> SLOW = method("Slow", MethodDescriptor.MethodType.UNARY);
    public static final MethodDescriptor<byte[], byte[]> BIDI = method("Bidi", MethodDescriptor.MethodType.BIDI_STREAMING);
    public static final MethodDescriptor<byte[], byte[]> SERVER_STREAM = method("ServerStream", MethodDescriptor.MethodType.SERVER_STREAMING);
    public static final MethodDescriptor<byte[], byte[]> CLIENT_STREAM = method("ClientStream", MethodDescriptor.MethodType.CLIENT_STREAMING);

    /** Remaining deadline (ms) the server saw on the last slow call, or -1. */
    public final AtomicLong lastDeadlineMs = new AtomicLong(-1);
    public final Server server;

    private static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("test.Echo", name))
                .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    }

    public GrpcEcho() throws IOException {
        ServerServiceDefinition def = ServerServiceDefinition.builder("test.Echo")
                .addMethod(UNARY, ServerCalls.asyncUnaryCall((req, obs) -> {
                    obs.onNext(req);
                    obs.onCompleted();
                }))
                .addMethod(SLOW, ServerCalls.asyncUnaryCall((req, obs) -> {
                    var d = Context.current().getDeadline();
                    lastDeadlineMs.set(d == null ? -1 : d.timeRemaining(TimeUnit.MILLISECONDS));
                    // sleeps in steps and gives up once the call is cancelled (reset by the proxy, server
                    // shut down): a message written after that may be a buffer grpc-java never frees
                    Context ctx = Context.current();
                    long end = System.nanoTime() + Long.parseLong(new String(req)) * 1_000_000;
                    try {
                        while (System.nanoTime() < end && !ctx.isCancelled()) {
                            Thread.sleep(Math.max(1, Math.min(10, (end - System.nanoTime()) / 1_000_000)));
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    if (ctx.isCancelled()) {
                        return;
                    }
                    obs.onNext(req);
                    obs.onCompleted();
                }))
                .addMethod(SERVER_STREAM, ServerCalls.asyncServerStreamingCall((req, obs) -> {
                    int n = Integer.parseInt(new String(req));
                    for (int i = 0; i < n; i++) {
                        obs.onNext(("s" + i).getBytes());
                    }
                    obs.onCompleted();
                }))
                .addMethod(CLIENT_STREAM, ServerCalls.asyncClientStreamingCall(obs -> new StreamObserver<byte[]>() {
                    int count;

                    @Override
                    public void onNext(byte[] value) {
                        count++;
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {
                        obs.onNext(Integer.toString(count).getBytes());
                        obs.onCompleted();
                    }
                }))
                .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(obs -> new StreamObserver<byte[]>() {
                    @Override
                    public void onNext(byte[] value) {
                        obs.onNext(value);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {
                        obs.onCompleted();
                    }
                }))
                .build();
        server = ServerBuilder.forPort(0).addService(def).build().start();
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.shutdownNow();
    }
}
