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
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
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
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            Pattern p = Pattern.compile("control plane: gRPC [^:]+:(\\d+),");
            try (BufferedReader r = new BufferedReader(new InputStreamReader(controlPlane.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    Matcher m = p.matcher(line);
                    if (m.find()) port.complete(Integer.parseInt(m.group(1)));
                }
            } catch (java.io.IOException ignored) {
                // process ended
            }
            port.completeExceptionally(new AssertionError("control plane exited; see target/interop-control-plane.log"));
        }, "control-plane-stdout");
        reader.setDaemon(true);
        reader.start();
        cpPort = port.get(60, TimeUnit.SECONDS);
        caBundle = data.resolve("ca-bundle.pem").toAbsolutePath();
        // grpc-java's "tls" xDS channel creds use the JVM's default trust store (the bootstrap's
        // ca_certificate_file is not read), so a proxyless client trusts the mesh bundle through it
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        Collection<? extends Certificate> roots = CertificateFactory.getInstance("X.509")
                .generateCertificates(Files.newInputStream(caBundle));
        int i = 0;
        for (Certificate c : roots) trust.setCertificateEntry("mesh-root-" + i++, c);
        Path store = data.resolve("truststore.p12");
        try (var out = Files.newOutputStream(store)) {
            trust.store(out, "changeit".toCharArray());
        }
        System.setProperty("javax.net.ssl.trustStore", store.toAbsolutePath().toString());
        System.setProperty("javax.net.ssl.trustStorePassword", "changeit");
        System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");

        // what GRPC_XDS_BOOTSTRAP (set by the build) points at
        String bootstrap = System.getenv("GRPC_XDS_BOOTSTRAP");
        assertThat(bootstrap).as("GRPC_XDS_BOOTSTRAP").isNotBlank();
        Files.writeString(Path.of(bootstrap), """
                {
                  "xds_servers": [{"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "tls", "config": {"ca_certificate_file": "%s"}}],
                                   "server_features": ["xds_v3"]}],
                  "node": {"id": "proxyless-interop-client", "cluster": "interop"}
                }
                """.formatted(cpPort, caBundle));
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
            requests = RegistrationGrpc.newStub(ch).register(new StreamObserver<>() {
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
