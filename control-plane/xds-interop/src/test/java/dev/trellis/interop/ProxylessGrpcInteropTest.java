package dev.trellis.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.controlplane.api.v1.Deregister;
import dev.trellis.controlplane.api.v1.HealthReport;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.RegistrationGrpc;
import dev.trellis.controlplane.api.v1.RegistrationRequest;
import dev.trellis.controlplane.api.v1.RegistrationResponse;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * grpc-java's own xDS client ({@code xds:///echo}, bootstrap from {@code GRPC_XDS_BOOTSTRAP})
 * against the Trellis control plane running as a separate process from its jar: two real gRPC
 * servers registered through the registration API share the calls, and when one deregisters
 * the client follows.
 */
class ProxylessGrpcInteropTest {
    private static final MethodDescriptor.Marshaller<String> UTF8 = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
    };
    private static final MethodDescriptor<String, String> WHO = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("interop.Echo/Who")
            .setRequestMarshaller(UTF8).setResponseMarshaller(UTF8).build();

    private Process controlPlane;
    private int cpPort;
    private Path caBundle;
    private String echoToken;
    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();

    @BeforeEach
    void startControlPlane() throws Exception {
        Path jar = Path.of(System.getProperty("trellis.controlPlaneJar", "../server/target/trellis-control-plane.jar"));
        assertThat(jar).as("the control plane's runnable jar (build control-plane/server first)").exists();
        Path target = Path.of("target");
        Path data = Files.createTempDirectory(Files.createDirectories(target), "interop-cp-");
        String java = ProcessHandle.current().info().command().orElse("java");
        controlPlane = new ProcessBuilder(java, "-Xmx256m", "-jar", jar.toAbsolutePath().toString(), "control-plane",
                "--port", "0", "--admin-port", "0", "--data-dir", data.toString(), "--grace-period", "1s")
                .redirectError(target.resolve("interop-control-plane.log").toFile())
                .start();
        CompletableFuture<int[]> ports = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            Pattern p = Pattern.compile("control plane: gRPC [^:]+:(\\d+), admin http://[^:]+:(\\d+),");
            try (BufferedReader r = new BufferedReader(new InputStreamReader(controlPlane.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    Matcher m = p.matcher(line);
                    if (m.find()) ports.complete(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
                }
            } catch (java.io.IOException ignored) {
                // process ended
            }
            ports.completeExceptionally(new AssertionError("control plane exited; see target/interop-control-plane.log"));
        }, "control-plane-stdout");
        reader.setDaemon(true);
        reader.start();
        int[] p = ports.get(60, TimeUnit.SECONDS);
        cpPort = p[0];
        caBundle = data.resolve("ca-bundle.pem").toAbsolutePath();
        // the control plane serves registration and ADS only to callers proving a service: join tokens
        String admin = Files.readString(data.resolve("admin.token")).strip();
        echoToken = joinToken(p[1], admin, "echo");
        Path clientToken = data.resolve("client.token");
        Files.writeString(clientToken, joinToken(p[1], admin, "interop-client"));

        // what GRPC_XDS_BOOTSTRAP (set by the build) points at; trellis_join_token is JoinTokenXdsCredentials
        String bootstrap = System.getenv("GRPC_XDS_BOOTSTRAP");
        assertThat(bootstrap).as("GRPC_XDS_BOOTSTRAP").isNotBlank();
        Files.writeString(Path.of(bootstrap), """
                {
                  "xds_servers": [{"server_uri": "127.0.0.1:%d",
                                   "channel_creds": [{"type": "trellis_join_token", "config": {"ca_certificate_file": "%s", "token_file": "%s"}}],
                                   "server_features": ["xds_v3"]}],
                  "node": {"id": "proxyless-interop-client", "cluster": "interop"}
                }
                """.formatted(cpPort, caBundle, clientToken.toAbsolutePath()));
    }

    /** {@code POST /api/v1/tokens} on the admin port: a join token for {@code service}. */
    private static String joinToken(int adminPort, String adminToken, String service) throws Exception {
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + adminPort + "/api/v1/tokens"))
                .header("Authorization", "Bearer " + adminToken)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"service\": \"" + service + "\", \"ttl\": \"1h\"}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        Matcher m = Pattern.compile("\"token\"\\s*:\\s*\"([^\"]+)\"").matcher(r.body());
        assertThat(m.find()).as(r.body()).isTrue();
        return m.group(1);
    }

    @AfterEach
    void stop() throws Exception {
        for (ManagedChannel c : channels) c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        for (Server s : servers) s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (controlPlane != null) {
            controlPlane.destroy();
            if (!controlPlane.waitFor(10, TimeUnit.SECONDS)) {
                controlPlane.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private int echoServer(String name) throws Exception {
        ServerServiceDefinition svc = ServerServiceDefinition.builder("interop.Echo")
                .addMethod(WHO, ServerCalls.asyncUnaryCall((String req, StreamObserver<String> out) -> {
                    out.onNext(name);
                    out.onCompleted();
                }))
                .build();
        Server s = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(svc).build().start();
        servers.add(s);
        return s.getPort();
    }

    /** A registration call as a sidecar (or a proxyless server) makes it. */
    private final class Registration {
        final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        final StreamObserver<RegistrationRequest> requests;

        Registration(String id, int port) throws Exception {
            ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", cpPort,
                    io.grpc.TlsChannelCredentials.newBuilder().trustManager(caBundle.toFile()).build()).build();
            channels.add(ch);
            io.grpc.Metadata md = new io.grpc.Metadata();
            md.put(JoinTokenXdsCredentials.AUTHORIZATION, "Bearer " + echoToken);
            requests = RegistrationGrpc.newStub(ch).withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(md))
                    .register(new StreamObserver<>() {
                @Override
                public void onNext(RegistrationResponse value) {
                    events.add(value);
                }

                @Override
                public void onError(Throwable t) {
                    events.add(t);
                }

                @Override
                public void onCompleted() {
                    events.add("completed");
                }
            });
            requests.onNext(RegistrationRequest.newBuilder().setRegister(Instance.newBuilder().setService("echo")
                    .setInstanceId(id).setAddress("127.0.0.1").setInboundPort(port).setProtocol("grpc")
                    .putLabels("version", "v1")).build());
            Object registered = events.poll(30, TimeUnit.SECONDS);
            assertThat(registered).isInstanceOf(RegistrationResponse.class);
            requests.onNext(RegistrationRequest.newBuilder().setHealth(HealthReport.newBuilder()
                    .setStatus(HealthStatus.HEALTHY)).build());
        }

        RegistrationResponse deregister() throws InterruptedException {
            requests.onNext(RegistrationRequest.newBuilder().setDeregister(Deregister.newBuilder()
                    .setAckTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10))).build());
            Object o = events.poll(30, TimeUnit.SECONDS);
            assertThat(o).isInstanceOf(RegistrationResponse.class);
            return (RegistrationResponse) o;
        }
    }

    private static String who(ManagedChannel ch) {
        return ClientCalls.blockingUnaryCall(ch, WHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "?");
    }

    @Test
    void xdsClientBalancesAcrossRegisteredServersAndFollowsOneLeaving() throws Exception {
        Registration a = new Registration("echo-a", echoServer("a"));
        Registration b = new Registration("echo-b", echoServer("b"));

        ManagedChannel client = Grpc.newChannelBuilder("xds:///echo", InsecureChannelCredentials.create()).build();
        channels.add(client);
        Set<String> seen = new HashSet<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                .until(() -> {
                    seen.add(who(client));
                    return seen.size() == 2;
                });
        List<String> twenty = new ArrayList<>();
        for (int i = 0; i < 20; i++) twenty.add(who(client));
        assertThat(twenty).as("round robin across both servers").containsOnly("a", "b")
                .filteredOn("a"::equals).hasSizeBetween(8, 12);

        // b leaves gracefully: the control plane answers once the client ACKed endpoints without it
        RegistrationResponse removed = b.deregister();
        assertThat(removed.getRemovalAcknowledged().getComplete()).isTrue();
        assertThat(removed.getRemovalAcknowledged().getPendingNodesList()).isEmpty();
        // grpc ACKs an update before its balancer has switched to it; b still serves, so give it a moment
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5))
                .until(() -> who(client).equals("a") && who(client).equals("a"));
        for (int i = 0; i < 20; i++) assertThat(who(client)).isEqualTo("a");

        // a newcomer is picked up
        new Registration("echo-c", echoServer("c"));
        Set<String> after = new HashSet<>();
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20)).until(() -> {
            after.add(who(client));
            return after.contains("c");
        });
        assertThat(after).doesNotContain("b");
        assertThat(a.events).isEmpty();
    }
}
