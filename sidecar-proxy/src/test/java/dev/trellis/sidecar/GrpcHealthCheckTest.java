package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.HTTP2;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.testing.GrpcEcho;
import dev.trellis.sidecar.testing.Proxy;
import io.grpc.CallOptions;
import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ServerCalls;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * gRPC health checks against real grpc-java servers whose {@link HealthStatusManager} flips between
 * SERVING and NOT_SERVING: the host leaves the balancer and comes back, and with two checks a host
 * must pass both. Intervals are 50 ms with thresholds of 1, so each flip shows within a few rounds.
 */
class GrpcHealthCheckTest {
    static final String SERVICE = "test.Echo";

    /** A grpc-java server answering {@code test.Echo/Unary} with its name, plus the standard health service. */
    static final class Backend implements AutoCloseable {
        final String name;
        final HealthStatusManager health = new HealthStatusManager();
        final List<String> healthAuthorities = new CopyOnWriteArrayList<>();
        final Server server;

        Backend(String name) throws Exception {
            this.name = name;
            ServerServiceDefinition echo = ServerServiceDefinition.builder(SERVICE)
                    .addMethod(GrpcEcho.UNARY, ServerCalls.asyncUnaryCall((req, obs) -> {
                        obs.onNext(name.getBytes(StandardCharsets.UTF_8));
                        obs.onCompleted();
                    })).build();
            ServerInterceptor authorities = new ServerInterceptor() {
                @Override
                public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                                  ServerCallHandler<Q, R> next) {
                    healthAuthorities.add(String.valueOf(call.getAuthority()));
                    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) { };
                }
            };
            server = ServerBuilder.forPort(0).addService(echo)
                    .addService(ServerInterceptors.intercept(health.getHealthService(), authorities)).build().start();
            health.setStatus(SERVICE, ServingStatus.SERVING);
        }

        int port() {
            return server.getPort();
        }

        @Override
        public void close() throws InterruptedException {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Waits generously: a loaded machine may be slow, a passing run is not. */
    static void await(java.util.concurrent.Callable<Boolean> condition) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(condition);
    }

    /** A check every 50 ms that flips a host at once; its timeout is long so a loaded machine does not flap. */
    static String check(String serviceName) {
        return "{'timeout': '5s', 'interval': '0.05s', 'unhealthy_threshold': 1, 'healthy_threshold': 1, "
                + "'grpc_health_check': {'service_name': '" + serviceName + "'}}";
    }

    static boolean healthy(Proxy p, Backend b) {
        return p.sidecar.clusterManager().get("app").hosts().stream()
                .filter(h -> h.address().getPort() == b.port()).allMatch(Host::healthy);
    }

    /** Which backends answer {@code n} calls through the sidecar. */
    static Set<String> answers(ManagedChannel ch, int n) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n; i++) {
            seen.add(new String(io.grpc.stub.ClientCalls.blockingUnaryCall(ch, GrpcEcho.UNARY, CallOptions.DEFAULT,
                    new byte[0]), StandardCharsets.UTF_8));
        }
        return seen;
    }

    static String admin(Proxy p, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(p.admin(path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void notServingTakesTheHostOutAndServingBringsItBack() throws Exception {
        try (Backend a = new Backend("a"); Backend b = new Backend("b");
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/", "app"))),
                     cluster("app", HTTP2 + ", 'health_checks': [" + check(SERVICE) + "]", a.port(), b.port())))) {
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", p.port("main")).usePlaintext().build();
            try {
                await(() -> healthy(p, a) && healthy(p, b));
                assertThat(answers(ch, 6)).containsExactlyInAnyOrder("a", "b");
                assertThat(a.healthAuthorities).as("the authority defaults to the cluster name").contains("app");

                a.health.setStatus(SERVICE, ServingStatus.NOT_SERVING);
                await(() -> !healthy(p, a));
                assertThat(answers(ch, 6)).containsExactly("b");
                assertThat(admin(p, "/clusters")).contains("\"health\" : \"FAILED_ACTIVE_HC\"");

                a.health.setStatus(SERVICE, ServingStatus.SERVING);
                await(() -> healthy(p, a));
                assertThat(answers(ch, 6)).containsExactlyInAnyOrder("a", "b");

                // a service the server does not know is NOT_FOUND: failing, as in Envoy
                a.health.clearStatus(SERVICE);
                await(() -> !healthy(p, a));
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Test
    void withTwoChecksAHostMustPassBoth() throws Exception {
        try (Backend a = new Backend("a"); Backend b = new Backend("b");
             Proxy p = Proxy.start(bootstrap(listener("main", "", vhost(route("/", "app"))),
                     cluster("app", HTTP2 + ", 'health_checks': [" + check(SERVICE) + ", " + check("") + "]",
                             a.port(), b.port())))) {
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", p.port("main")).usePlaintext().build();
            try {
                assertThat(p.sidecar.clusterManager().get("app").healthCheckers()).hasSize(2);
                await(() -> healthy(p, a) && healthy(p, b));

                // the server as a whole ("") goes NOT_SERVING while the service stays SERVING
                a.health.setStatus("", ServingStatus.NOT_SERVING);
                await(() -> !healthy(p, a));
                assertThat(answers(ch, 6)).containsExactly("b");

                // now the service fails as well, then the server recovers: still out until the service does too
                a.health.setStatus(SERVICE, ServingStatus.NOT_SERVING);
                a.health.setStatus("", ServingStatus.SERVING);
                int before = a.healthAuthorities.size();
                await(() -> a.healthAuthorities.size() >= before + 6);
                assertThat(healthy(p, a)).isFalse();
                assertThat(answers(ch, 6)).containsExactly("b");

                a.health.setStatus(SERVICE, ServingStatus.SERVING);
                await(() -> healthy(p, a));
                assertThat(answers(ch, 6)).containsExactlyInAnyOrder("a", "b");
            } finally {
                ch.shutdownNow();
            }
        }
    }
}
