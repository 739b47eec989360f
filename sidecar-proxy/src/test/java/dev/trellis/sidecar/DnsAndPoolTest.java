package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.HTTP2;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.GrpcEcho;
import dev.trellis.sidecar.testing.Proxy;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** DNS clusters, and the HTTP/2 pool opening another connection when the peer's stream limit is reached. */
class DnsAndPoolTest {
    static String dnsCluster(String name, String type, int port) {
        return j("{'name': '" + name + "', 'type': '" + type + "', 'dns_refresh_rate': '1s', 'load_assignment': {'cluster_name': '" + name
                + "', 'endpoints': [{'lb_endpoints': [{'endpoint': {'address': {'socket_address': {'address': 'localhost', 'port_value': " + port + "}}}}]}]}}");
    }

    @Test
    void logicalAndStrictDnsClustersResolveNames() throws Exception {
        try (Backend b = new Backend("dns");
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/strict", "strict"), route("/", "logical"))),
                     dnsCluster("logical", "LOGICAL_DNS", b.port()) + "," + dnsCluster("strict", "STRICT_DNS", b.port())))) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(p.uri("main", "/x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("x-backend")).contains("dns");
            assertThat(p.sidecar.clusterManager().get("logical").hosts()).hasSize(1);
            assertThat(p.sidecar.clusterManager().get("strict").hosts()).extracting(Host::label).contains("127.0.0.1:" + b.port());
        }
    }

    @Test
    void http1DownstreamToHttp2UpstreamAndAnotherConnectionWhenStreamsRunOut() throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        ServerServiceDefinition def = ServerServiceDefinition.builder("test.Echo")
                .addMethod(GrpcEcho.SLOW, ServerCalls.asyncUnaryCall((req, obs) -> {
                    maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    inFlight.decrementAndGet();
                    obs.onNext(req);
                    obs.onCompleted();
                })).build();
        Server server = NettyServerBuilder.forPort(0).maxConcurrentCallsPerConnection(2).addService(def).build().start();
        try (Backend h1 = new Backend("h1");
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/test.Echo/", "h2"))), cluster("h2", HTTP2, server.getPort())))) {
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", p.port("main")).usePlaintext().build();
            try {
                List<com.google.common.util.concurrent.ListenableFuture<byte[]>> fs = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    fs.add(ClientCalls.futureUnaryCall(ch.newCall(GrpcEcho.SLOW, CallOptions.DEFAULT), "1".getBytes()));
                }
                for (var f : fs) {
                    assertThat(new String(f.get(20, TimeUnit.SECONDS))).isEqualTo("1");
                }
                Host host = p.sidecar.clusterManager().get("h2").hosts().get(0);
                assertThat(host.connections().get()).isGreaterThanOrEqualTo(3);
                assertThat(maxInFlight.get()).isGreaterThan(2);
            } finally {
                ch.shutdownNow();
            }
            // plain HTTP/1.1 client to an HTTP/2 upstream: the gRPC server answers a non-gRPC request itself
            HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                    HttpRequest.newBuilder(p.uri("main", "/test.Echo/Slow")).POST(HttpRequest.BodyPublishers.ofString("x"))
                            .header("content-type", "text/plain").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(415);
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
        } finally {
            server.shutdownNow();
        }
    }
}
