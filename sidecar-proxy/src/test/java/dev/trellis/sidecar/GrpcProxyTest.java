package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.HTTP2;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.testing.GrpcEcho;
import dev.trellis.sidecar.testing.Proxy;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** grpc-java client -> sidecar (h2c prior knowledge) -> grpc-java server over an HTTP/2 pool. */
class GrpcProxyTest {
    static GrpcEcho echo;
    static Proxy proxy;
    static ManagedChannel channel;
    static final Metadata.Key<String> FLAGS = Metadata.Key.of("x-trellis-response-flags", Metadata.ASCII_STRING_MARSHALLER);

    @BeforeAll
    static void start() throws Exception {
        echo = new GrpcEcho();
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String routes = vhost(
                j("{'match': {'prefix': '/test.Echo/Slow', 'headers': [{'name': 'x-short', 'present_match': true}]}, 'route': {'cluster': 'grpc', 'timeout': '0.3s'}}"),
                j("{'match': {'prefix': '/test.Echo/', 'headers': [{'name': 'x-down', 'present_match': true}]}, 'route': {'cluster': 'down'}}"),
                j("{'match': {'prefix': '/', 'grpc': {}}, 'route': {'cluster': 'grpc', 'timeout': '0s'}}"));
        proxy = Proxy.start(bootstrap(listener("main", "", routes),
                cluster("grpc", HTTP2, echo.port()) + "," + cluster("down", HTTP2, closed)));
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", proxy.port("main")).usePlaintext().build();
    }

    @AfterAll
    static void stop() {
        channel.shutdownNow();
        proxy.close();
        echo.close();
    }

    @Test
    void unary() {
        byte[] out = ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, CallOptions.DEFAULT, "hi".getBytes());
        assertThat(new String(out)).isEqualTo("hi");
        org.awaitility.Awaitility.await().untilAsserted(() -> assertThat(proxy.sidecar.metrics().scrape())
                .contains("destination_service=\"grpc\",grpc_status=\"0\",reporter=\"source\",request_protocol=\"grpc\",response_code=\"200\""));
    }

    @Test
    void bidiStreaming() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        StreamObserver<byte[]> req = ClientCalls.asyncBidiStreamingCall(channel.newCall(GrpcEcho.BIDI, CallOptions.DEFAULT),
                new StreamObserver<>() {
                    @Override
                    public void onNext(byte[] v) {
                        got.add(new String(v));
                    }

                    @Override
                    public void onError(Throwable t) {
                        got.add("error: " + t);
                        done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        done.countDown();
                    }
                });
        for (int i = 0; i < 50; i++) {
            req.onNext(("m" + i).getBytes());
        }
        req.onCompleted();
        assertThat(done.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(got).hasSize(50).startsWith("m0", "m1").endsWith("m49");
    }

    @Test
    void serverAndClientStreaming() throws Exception {
        List<String> got = new java.util.ArrayList<>();
        ClientCalls.blockingServerStreamingCall(channel, GrpcEcho.SERVER_STREAM, CallOptions.DEFAULT, "100".getBytes())
                .forEachRemaining(b -> got.add(new String(b)));
        assertThat(got).hasSize(100).startsWith("s0").endsWith("s99");
        com.google.common.util.concurrent.SettableFuture<String> result = com.google.common.util.concurrent.SettableFuture.create();
        StreamObserver<byte[]> up = ClientCalls.asyncClientStreamingCall(channel.newCall(GrpcEcho.CLIENT_STREAM, CallOptions.DEFAULT),
                new StreamObserver<>() {
                    @Override
                    public void onNext(byte[] v) {
                        result.set(new String(v));
                    }

                    @Override
                    public void onError(Throwable t) {
                        result.setException(t);
                    }

                    @Override
                    public void onCompleted() {}
                });
        for (int i = 0; i < 30; i++) {
            up.onNext(new byte[1000]);
        }
        up.onCompleted();
        assertThat(result.get(20, TimeUnit.SECONDS)).isEqualTo("30");
    }

    @Test
    void deadlinePropagatesAsGrpcTimeoutAndExpires() {
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcEcho.SLOW,
                CallOptions.DEFAULT.withDeadlineAfter(300, TimeUnit.MILLISECONDS), "2000".getBytes()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        assertThat(echo.lastDeadlineMs.get()).isBetween(1L, 300L);
        byte[] ok = ClientCalls.blockingUnaryCall(channel, GrpcEcho.SLOW,
                CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "10".getBytes());
        assertThat(new String(ok)).isEqualTo("10");
    }

    @Test
    void routeTimeoutIsTrailersOnlyDeadlineExceededWithFlagUT() {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-short", Metadata.ASCII_STRING_MARSHALLER), "1");
        var ch = io.grpc.ClientInterceptors.intercept(channel, io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(md));
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(ch, GrpcEcho.SLOW, CallOptions.DEFAULT, "3000".getBytes()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
                    assertThat(e.getStatus().getDescription()).contains("upstream request timeout");
                    assertThat(e.getTrailers().get(FLAGS)).isEqualTo("UT");
                });
    }

    @Test
    void connectFailureIsUnavailableWithFlagUF() {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-down", Metadata.ASCII_STRING_MARSHALLER), "1");
        var ch = io.grpc.ClientInterceptors.intercept(channel, io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(md));
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(ch, GrpcEcho.UNARY, CallOptions.DEFAULT, "x".getBytes()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e.getStatus().getDescription()).contains("upstream connect error");
                    assertThat(e.getTrailers().get(FLAGS)).isEqualTo("UF");
                });
    }

    @Test
    void manyConcurrentCallsShareOneUpstreamConnection() throws Exception {
        List<com.google.common.util.concurrent.ListenableFuture<byte[]>> fs = new java.util.ArrayList<>();
        for (int i = 0; i < 50; i++) {
            fs.add(ClientCalls.futureUnaryCall(channel.newCall(GrpcEcho.UNARY, CallOptions.DEFAULT), ("c" + i).getBytes()));
        }
        for (int i = 0; i < 50; i++) {
            assertThat(new String(fs.get(i).get(20, TimeUnit.SECONDS))).isEqualTo("c" + i);
        }
        var host = proxy.sidecar.clusterManager().get("grpc").hosts().get(0);
        assertThat(host.connections().get()).isLessThanOrEqualTo(2);
    }
}
