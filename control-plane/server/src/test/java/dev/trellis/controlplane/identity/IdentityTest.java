package dev.trellis.controlplane.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.certs.CertificateAuthority;
import dev.trellis.certs.CertificateRequest;
import dev.trellis.certs.CertifiedKey;
import dev.trellis.certs.KeyPairs;
import dev.trellis.certs.MeshKeyManager;
import dev.trellis.certs.Pem;
import dev.trellis.certs.SpiffeId;
import dev.trellis.certs.SvidValidator;
import dev.trellis.certs.TrustBundle;
import dev.trellis.common.cli.Cli;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.controlplane.api.v1.CertificateSigningGrpc;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.RegistrationGrpc;
import dev.trellis.controlplane.api.v1.RegistrationRequest;
import dev.trellis.controlplane.api.v1.RegistrationResponse;
import dev.trellis.controlplane.api.v1.SignRequest;
import dev.trellis.controlplane.api.v1.SignResponse;
import dev.trellis.controlplane.api.v1.TrustBundleAck;
import dev.trellis.controlplane.api.v1.TrustBundleUpdate;
import dev.trellis.controlplane.cli.ControlPlaneMain;
import dev.trellis.testing.MutableClock;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The control plane's CA, join tokens, admin token and signing service over real TLS and gRPC. */
class IdentityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final MutableClock clock = MutableClock.startingNow();
    @TempDir
    Path tmp;
    private ControlPlane cp;

    @AfterEach
    void stop() throws Exception {
        for (ManagedChannel c : channels) c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        if (cp != null) cp.close();
    }

    private ControlPlane start() throws Exception {
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(tmp.resolve("data")).clock(clock).start();
        return cp;
    }

    /** A TLS channel trusting the bundle, presenting {@code key} (if any) as client certificate. */
    private ManagedChannel channel(CertifiedKey key) {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(cp.trustBundle().pkixTrustManager());
        if (key != null) b.keyManager(new MeshKeyManager(() -> key));
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cp.grpcPort(), b.build()).build();
        channels.add(ch);
        return ch;
    }

    private static CertificateSigningGrpc.CertificateSigningBlockingStub withToken(ManagedChannel ch, String token) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        return CertificateSigningGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    private HttpResponse<String> api(String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.adminPort() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) b.header("Authorization", "Bearer " + token);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String token(String service, String ttl) throws Exception {
        HttpResponse<String> r = api("POST", "/api/v1/tokens", "{\"service\":\"" + service + "\",\"ttl\":\"" + ttl + "\"}", cp.adminToken());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).path("token").asText();
    }

    private SpiffeId id(String service) {
        return SpiffeId.of("trellis.local", "default", service);
    }

    private record Signed(CertifiedKey key, SignResponse response) {}

    private Signed sign(CertificateSigningGrpc.CertificateSigningBlockingStub stub, SpiffeId asked) {
        KeyPair kp = KeyPairs.ecP256();
        SignResponse r = stub.sign(SignRequest.newBuilder().setCsrPem(CertificateRequest.create(kp, asked).toPem()).build());
        return new Signed(new CertifiedKey(kp.getPrivate(), Pem.decodeCertificates(r.getCertificateChainPem())), r);
    }

    private static String perms(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void firstStartCreatesRootAdminTokenAndBundleWithPrivateModes() throws Exception {
        start();
        Path data = tmp.resolve("data");
        assertThat(perms(data.resolve("ca-key.pem"))).isEqualTo("rw-------");
        assertThat(perms(data.resolve("admin.token"))).isEqualTo("rw-------");
        TrustBundle bundle = TrustBundle.read(data.resolve("ca-bundle.pem"));
        assertThat(bundle.trustDomain()).isEqualTo("trellis.local");
        assertThat(bundle.roots()).hasSize(1);
        X509Certificate root = bundle.roots().get(0);
        assertThat(root.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(Duration.between(root.getNotBefore().toInstant(), root.getNotAfter().toInstant()).toDays()).isGreaterThanOrEqualTo(3649);
        assertThat(Files.readString(data.resolve("admin.token")).strip()).isEqualTo(cp.adminToken());
        token("users", "1h");
        assertThat(perms(data.resolve("tokens.json"))).isEqualTo("rw-------");
        assertThat(Files.readString(data.resolve("tokens.json"))).doesNotContain(cp.adminToken());

        // a restart keeps the root and the admin token
        String adminToken = cp.adminToken();
        cp.close();
        cp = null;
        start();
        assertThat(cp.trustBundle().roots()).containsExactly(root);
        assertThat(cp.adminToken()).isEqualTo(adminToken);
    }

    @Test
    void adminApiNeedsTheOperatorTokenButHealthReadyAndMetricsDoNot() throws Exception {
        start();
        HttpResponse<String> none = api("GET", "/api/v1/policy", null, null);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.body()).contains("Authorization: missing");
        HttpResponse<String> wrong = api("GET", "/api/v1/tokens", null, "not-the-token");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("wrong admin token");
        assertThat(api("POST", "/api/v1/tokens", "{\"service\":\"users\"}", "x").statusCode()).isEqualTo(401);
        assertThat(api("GET", "/api/v1/policy", null, cp.adminToken()).statusCode()).isEqualTo(200);
        assertThat(api("GET", "/api/v1/certs", null, cp.adminToken()).statusCode()).isEqualTo(200);
        for (String open : List.of("/health", "/ready", "/metrics")) {
            assertThat(api("GET", open, null, null).statusCode()).as(open).isEqualTo(200);
        }
    }

    @Test
    void joinTokenGetsACertificateForItsServiceAndRenewalUsesTheCertificate() throws Exception {
        start();
        String token = token("users", "1h");
        Signed first = sign(withToken(channel(null), token), id("users"));
        assertThat(first.response().getSpiffeId()).isEqualTo("spiffe://trellis.local/ns/default/sa/users");
        assertThat(first.key().spiffeId()).contains(id("users"));
        assertThat(first.key().lifetime()).isEqualTo(Duration.ofHours(24).plus(CertificateAuthority.BACKDATE));
        assertThat(new SvidValidator(TrustBundle.fromPem("trellis.local", first.response().getTrustBundlePem()), clock)
                .validate(first.key().chain(), SvidValidator.PeerRole.CLIENT)).isEqualTo(id("users"));

        // the token is revoked: renewing with the current certificate still works, without any token
        String tokenId = token.substring(0, token.indexOf('.'));
        assertThat(api("DELETE", "/api/v1/tokens/" + tokenId, null, cp.adminToken()).statusCode()).isEqualTo(200);
        Signed renewed = sign(CertificateSigningGrpc.newBlockingStub(channel(first.key())), id("users"));
        assertThat(renewed.key().spiffeId()).contains(id("users"));
        assertThat(renewed.key().leaf().getSerialNumber()).isNotEqualTo(first.key().leaf().getSerialNumber());
        String metrics = api("GET", "/metrics", null, null).body();
        assertThat(metrics).contains("trellis_ca_certificates_issued_total 2.0");
        double expiry = Double.parseDouble(metrics.replaceAll("(?s).*\ntrellis_ca_earliest_expiry_seconds ([^\n]+)\n.*", "$1"));
        assertThat(expiry).isEqualTo(Duration.between(clock.instant(), renewed.key().leaf().getNotAfter().toInstant())
                .toMillis() / 1000.0);
        // ... but not for another service
        assertThatThrownBy(() -> sign(CertificateSigningGrpc.newBlockingStub(channel(first.key())), id("payments")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).contains("spiffe://trellis.local/ns/default/sa/payments",
                            "expected: only uri:spiffe://trellis.local/ns/default/sa/users");
                });
    }

    @Test
    void tokenMisuseIsRefusedWithTheReason() throws Exception {
        start();
        String users = token("users", "1h");
        ManagedChannel ch = channel(null);
        assertThatThrownBy(() -> sign(withToken(ch, users), id("payments")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).contains("CSR asks for uri:spiffe://trellis.local/ns/default/sa/payments");
                });
        assertThatThrownBy(() -> sign(CertificateSigningGrpc.newBlockingStub(ch), id("users")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                    assertThat(e.getStatus().getDescription()).contains("no credentials");
                });
        assertThatThrownBy(() -> sign(withToken(ch, users + "x"), id("users")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                        assertThat(e.getStatus().getDescription()).contains("join token '" + users.substring(0, 12) + "': unknown"));

        String revoked = token("users", "1h");
        assertThat(cli(0, "token", "revoke", revoked.substring(0, 12))).contains("revoked " + revoked.substring(0, 12));
        assertThatThrownBy(() -> sign(withToken(ch, revoked), id("users")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                    assertThat(e.getStatus().getDescription()).contains("for service 'users': revoked at");
                });

        String shortLived = token("users", "10m");
        clock.advance(Duration.ofMinutes(11));
        assertThatThrownBy(() -> sign(withToken(ch, shortLived), id("users")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                    assertThat(e.getStatus().getDescription()).contains("for service 'users': expired at");
                });
        // the first token is still good
        assertThat(sign(withToken(ch, users), id("users")).key().spiffeId()).contains(id("users"));
        assertThat(cli(0, "token", "list")).contains("users", "revoked", "expired", "valid").doesNotContain(users);
    }

    private static Metadata bearer(String token) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        return md;
    }

    /** Opens a registration call for an instance of {@code service}; returns its first event (response or error). */
    private static Object register(ManagedChannel ch, Metadata md, String service) throws Exception {
        LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        RegistrationGrpc.RegistrationStub stub = RegistrationGrpc.newStub(ch);
        if (md != null) stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        StreamObserver<RegistrationRequest> req = stub.register(new StreamObserver<>() {
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
        req.onNext(RegistrationRequest.newBuilder().setRegister(Instance.newBuilder().setService(service)
                .setInstanceId(service + "-1").setAddress("127.0.0.1").setInboundPort(1234)).build());
        Object o = events.poll(10, TimeUnit.SECONDS);
        if (o instanceof RegistrationResponse) req.onCompleted();
        return o;
    }

    /** Opens an ADS stream as {@code nodeId}; returns its first event (response or error). */
    private static Object ads(ManagedChannel ch, Metadata md, String nodeId) throws Exception {
        LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub = AggregatedDiscoveryServiceGrpc.newStub(ch);
        if (md != null) stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        StreamObserver<DiscoveryRequest> req = stub.streamAggregatedResources(new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse value) {
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
        req.onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId))
                .setTypeUrl("type.googleapis.com/envoy.config.listener.v3.Listener").build());
        Object o = events.poll(10, TimeUnit.SECONDS);
        req.onCompleted();
        // a refusal comes at once; an accepted stream may wait for its first snapshot
        return o == null ? "open, no response yet" : o;
    }

    private static void refused(Object event, Status.Code code, String... says) {
        assertThat(event).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(code);
            assertThat(e.getStatus().getDescription()).contains(says);
        });
    }

    @Test
    void registrationNeedsACertificateOrJoinTokenOfTheInstancesService() throws Exception {
        start();
        String usersToken = token("users", "1h");
        CertifiedKey usersCert = sign(withToken(channel(null), usersToken), id("users")).key();
        ManagedChannel anonymous = channel(null);

        refused(register(anonymous, null, "users"), Status.Code.UNAUTHENTICATED,
                "register of service 'users': no credentials (expected: the workload certificate of service 'users'"
                        + " or a join token for it");
        refused(register(anonymous, bearer(usersToken + "x"), "users"), Status.Code.UNAUTHENTICATED,
                "register of service 'users': join token '" + usersToken.substring(0, 12) + "': unknown");
        // a certificate for users registering payments, over a real mTLS handshake
        refused(register(channel(usersCert), null, "payments"), Status.Code.PERMISSION_DENIED,
                "register of service 'payments': the caller is service 'users' by its workload certificate"
                        + " (expected: a workload certificate of service 'payments')");
        refused(register(anonymous, bearer(usersToken), "payments"), Status.Code.PERMISSION_DENIED,
                "the caller is service 'users' by its join token (expected: a join token of service 'payments')");
        assertThat(cp.registry().size()).isZero();

        assertThat(register(anonymous, bearer(usersToken), "users")).isInstanceOfSatisfying(RegistrationResponse.class,
                r -> assertThat(r.getRegistered().getNodeId()).isEqualTo("sidecar~users~users-1"));
        assertThat(register(channel(usersCert), null, "users")).isInstanceOf(RegistrationResponse.class);
    }

    @Test
    void adsNeedsACertificateOrJoinTokenOfTheNodesService() throws Exception {
        start();
        String usersToken = token("users", "1h");
        CertifiedKey usersCert = sign(withToken(channel(null), usersToken), id("users")).key();
        ManagedChannel anonymous = channel(null);

        refused(ads(anonymous, null, "sidecar~users~1"), Status.Code.UNAUTHENTICATED,
                "ADS for node 'sidecar~users~1': no credentials");
        refused(ads(anonymous, null, "proxyless-client"), Status.Code.UNAUTHENTICATED,
                "ADS for node 'proxyless-client': no credentials (expected: a workload certificate or a join token of the mesh");
        refused(ads(channel(usersCert), null, "sidecar~payments~1"), Status.Code.PERMISSION_DENIED,
                "ADS for node 'sidecar~payments~1': the caller is service 'users' by its workload certificate");
        refused(ads(anonymous, bearer(usersToken), "gateway~edge~1"), Status.Code.PERMISSION_DENIED,
                "ADS for node 'gateway~edge~1': the caller is service 'users' by its join token");
        // refused streams are gone from the proxy list
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> cp.proxies().proxies().isEmpty());

        assertThat(ads(channel(usersCert), null, "sidecar~users~1")).isNotInstanceOf(StatusRuntimeException.class);
        assertThat(ads(anonymous, bearer(usersToken), "sidecar~users~2")).isNotInstanceOf(StatusRuntimeException.class);
        // a proxyless client has no service in its node id: any proven workload of the mesh
        assertThat(ads(anonymous, bearer(usersToken), "proxyless-client")).isNotInstanceOf(StatusRuntimeException.class);
    }

    @Test
    void theControlPlaneDecidesTheSpiffeIdFromMeshConfig() throws Exception {
        start();
        HttpResponse<String> r = api("PUT", "/api/v1/policy/MeshConfig/default",
                "kind: MeshConfig\nname: default\nspec:\n  namespace: prod\n", cp.adminToken());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        ManagedChannel ch = channel(null);
        String token = token("users", "1h");
        // a CSR naming no identity gets the MeshConfig's trust domain and namespace
        KeyPair kp = KeyPairs.ecP256();
        SignResponse signed = withToken(ch, token).sign(SignRequest.newBuilder()
                .setCsrPem(CertificateRequest.forService(kp, "users").toPem()).build());
        assertThat(signed.getSpiffeId()).isEqualTo("spiffe://trellis.local/ns/prod/sa/users");
        assertThat(new CertifiedKey(kp.getPrivate(), Pem.decodeCertificates(signed.getCertificateChainPem())).spiffeId())
                .contains(SpiffeId.of("trellis.local", "prod", "users"));
        // one that names an ID must name exactly that one
        assertThatThrownBy(() -> sign(withToken(ch, token), id("users")))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).contains("CSR asks for uri:spiffe://trellis.local/ns/default/sa/users"
                            + " (expected: only uri:spiffe://trellis.local/ns/prod/sa/users");
                });
        // the trust domain is the CA's for good
        HttpResponse<String> td = api("PUT", "/api/v1/policy/MeshConfig/default",
                "kind: MeshConfig\nname: default\nspec:\n  trustDomain: other.example\n", cp.adminToken());
        assertThat(td.statusCode()).isEqualTo(400);
        assertThat(td.body()).contains("MeshConfig.spec.trustDomain: 'other.example' (expected: 'trellis.local', the trust domain of the mesh CA");
        // a namespace change asks every sidecar to renew (a bundle push with renew)
        long before = cp.identity().signing().bundleVersion();
        assertThat(api("PUT", "/api/v1/policy/MeshConfig/default", "kind: MeshConfig\nname: default\nspec:\n  namespace: staging\n",
                cp.adminToken()).statusCode()).isEqualTo(200);
        assertThat(cp.identity().signing().bundleVersion()).isEqualTo(before + 1);
    }

    @Test
    void thePlaintextDevModeIsExplicitAndLetsAnonymousCallersIn() throws Exception {
        assertThatThrownBy(() -> ControlPlane.builder().credentials(io.grpc.InsecureServerCredentials.create()))
                .hasMessageContaining("plaintext() for an unauthenticated dev/test control plane");
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(tmp.resolve("data")).clock(clock).plaintext().start();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cp.grpcPort()).usePlaintext().build();
        channels.add(ch);
        assertThat(register(ch, null, "users")).isInstanceOf(RegistrationResponse.class);
        assertThat(ads(ch, null, "sidecar~orders~1")).isNotInstanceOf(StatusRuntimeException.class);
        // a caller that did prove a service still registers only that one
        refused(register(ch, bearer(token("users", "1h")), "payments"), Status.Code.PERMISSION_DENIED,
                "the caller is service 'users' by its join token");
    }

    @Test
    void operatorSuppliedCaSignsAndIsTheBundle() throws Exception {
        // the test's clock: a leaf never starts before its issuer, so an operator root made later on a
        // loaded machine would make the leaf look not yet valid at the control plane's clock
        CertificateAuthority operator = CertificateAuthority.builder("trellis.local").directory(tmp.resolve("operator"))
                .clock(clock).build();
        Path cert = tmp.resolve("operator").resolve(CertificateAuthority.CERT_FILE);
        Path key = tmp.resolve("operator").resolve(CertificateAuthority.KEY_FILE);
        cp = ControlPlane.builder().port(0).adminPort(0).dataDir(tmp.resolve("data")).operatorCa(cert, key).clock(clock).start();
        assertThat(cp.trustBundle().roots()).containsExactly(operator.signingCertificate());
        assertThat(Files.exists(tmp.resolve("data").resolve("ca-key.pem"))).isFalse();
        assertThat(TrustBundle.read(tmp.resolve("data").resolve("ca-bundle.pem")).roots()).containsExactly(operator.signingCertificate());
        Signed s = sign(withToken(channel(null), token("users", "1h")), id("users"));
        assertThat(new SvidValidator(operator.trustBundle(), clock).validate(s.key().chain(), SvidValidator.PeerRole.SERVER))
                .isEqualTo(id("users"));
    }

    @Test
    void rotateRootWaitsForEveryWatcherThenSwitchesAndAsksForRenewal() throws Exception {
        start();
        X509Certificate oldRoot = cp.trustBundle().roots().get(0);
        String token = token("users", "1h");
        Signed before = sign(withToken(channel(null), token), id("users"));
        LinkedBlockingQueue<TrustBundleUpdate> updates = new LinkedBlockingQueue<>();
        StreamObserver<TrustBundleAck>[] acks = new StreamObserver[1];
        acks[0] = CertificateSigningGrpc.newStub(channel(before.key())).watchTrustBundle(new StreamObserver<>() {
            @Override
            public void onNext(TrustBundleUpdate u) {
                updates.add(u);
                acks[0].onNext(TrustBundleAck.newBuilder().setVersion(u.getVersion()).setNode("sidecar~users~u1").build());
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
        });
        assertThat(updates.poll(10, TimeUnit.SECONDS).getVersion()).isEqualTo(1);

        String out = cli(0, "certs", "rotate-root", "--wait", "10s");
        assertThat(out).contains("added root", "every sidecar acked the bundle", "signing with root", "SIGNING", "RETIRED");
        TrustBundleUpdate pushed = updates.poll(10, TimeUnit.SECONDS);
        assertThat(TrustBundle.fromPem("trellis.local", pushed.getTrustBundlePem()).roots()).hasSize(2).contains(oldRoot);
        assertThat(pushed.getRenew()).isFalse();
        TrustBundleUpdate switched = updates.poll(10, TimeUnit.SECONDS);
        assertThat(switched.getRenew()).isTrue();

        Signed after = sign(CertificateSigningGrpc.newBlockingStub(channel(before.key())), id("users"));
        X509Certificate newRoot = cp.identity().ca().signingCertificate();
        assertThat(newRoot).isNotEqualTo(oldRoot);
        new SvidValidator(TrustBundle.of("trellis.local", List.of(newRoot)), clock).validate(after.key().chain(),
                SvidValidator.PeerRole.CLIENT, Set.of(id("users")));
        assertThat(cli(0, "certs", "status")).contains("SIGNING", "RETIRED", "sidecar~users~u1 acked version 3");

        // once nothing the old root signed is valid, the periodic check drops it and pushes the bundle
        clock.advance(Duration.ofHours(26));
        cp.identity().tick();
        assertThat(cp.trustBundle().roots()).containsExactly(newRoot);
        assertThat(TrustBundle.fromPem("trellis.local", updates.poll(10, TimeUnit.SECONDS).getTrustBundlePem()).roots())
                .containsExactly(newRoot);
        acks[0].onCompleted();
    }

    private String cli(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new ControlPlaneMain());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--control-plane-admin=http://127.0.0.1:" + cp.adminPort());
        all.add("--admin-token-file=" + tmp.resolve("data").resolve("admin.token"));
        int code = cl.execute(all.toArray(String[]::new));
        assertThat(code).as("exit code; stdout:\n" + out + "\nstderr:\n" + err).isEqualTo(expectedExit);
        return out + err.toString();
    }

    static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }
}
