package dev.trellis.controlplane;

import static dev.trellis.controlplane.AdsClient.CDS;
import static dev.trellis.controlplane.AdsClient.EDS;
import static dev.trellis.controlplane.AdsClient.LDS;
import static dev.trellis.controlplane.AdsClient.RDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.controlplane.api.v1.HealthReport;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.RegistrationRequest;
import dev.trellis.controlplane.api.v1.RegistrationResponse;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The control plane over real sockets: registration, ADS with a raw client, ACK/NACK tracking. */
class XdsIntegrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private ControlPlane cp;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        // xDS behaviour only: the plaintext dev/test mode, where anonymous callers may register any service
        // (authentication of registration and ADS is IdentityTest's)
        cp = ControlPlane.builder().port(0).adminPort(0).gracePeriod(Duration.ofMillis(300)).plaintext().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", cp.grpcPort()).usePlaintext().build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        cp.close();
    }

    private JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.adminPort() + path))
                        .header("Authorization", "Bearer " + cp.adminToken()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private HttpResponse<String> put(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.adminPort() + path))
                .header("Authorization", "Bearer " + cp.adminToken())
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private Sidecars.Registration healthy(String service, String id, int port) throws Exception {
        Sidecars.Registration r = new Sidecars.Registration(channel).register(service, id, port);
        RegistrationResponse registered = (RegistrationResponse) r.next();
        assertThat(registered.getRegistered().getNodeId()).isEqualTo("sidecar~" + service + "~" + id);
        r.health(HealthStatus.HEALTHY);
        return r;
    }

    private JsonNode proxy(String node) throws Exception {
        for (JsonNode p : get("/api/v1/proxies")) {
            if (p.path("node").asText().equals(node)) return p;
        }
        return null;
    }

    @Test
    void sidecarGetsScopedResourcesAndAckNackIsTracked() throws Exception {
        healthy("echo", "echo-1", 9001);
        healthy("echo", "echo-2", 9002);
        healthy("other", "other-1", 9100);
        Sidecars.Registration unknown = new Sidecars.Registration(channel).register("echo", "echo-3", 9003);
        unknown.next(); // registered but never reported healthy: not routable
        await().until(() -> cp.registry().instances().stream().filter(i -> i.routable()).count() == 3);

        try (AdsClient ads = new AdsClient(channel, "sidecar~client~c1", List.of("echo"))) {
            ads.request(CDS, List.of(), null);
            DiscoveryResponse cds = ads.next(CDS);
            List<Cluster> clusters = AdsClient.unpack(cds, Cluster.class);
            assertThat(clusters).extracting(Cluster::getName).containsExactly("outbound|echo");
            Cluster echo = clusters.get(0);
            assertThat(echo.getType()).isEqualTo(Cluster.DiscoveryType.EDS);
            assertThat(echo.getEdsClusterConfig().getEdsConfig().hasAds()).isTrue();
            assertThat(echo.getLoadBalancingPolicy().getPolicies(0).getTypedExtensionConfig().getName())
                    .isEqualTo("trellis.load_balancing_policies.peak_ewma");
            ads.ack(cds, List.of());

            ads.request(EDS, List.of("outbound|echo"), null);
            DiscoveryResponse eds = ads.next(EDS);
            assertThat(AdsClient.endpoints(eds)).containsExactly("outbound|echo=127.0.0.1:9001", "outbound|echo=127.0.0.1:9002");
            ads.ack(eds, List.of("outbound|echo"));

            ads.request(LDS, List.of(), null);
            DiscoveryResponse lds = ads.next(LDS);
            Listener outbound = AdsClient.unpack(lds, Listener.class).get(0);
            assertThat(outbound.getName()).isEqualTo("outbound");
            assertThat(outbound.getAddress().getSocketAddress().getPortValue()).isEqualTo(15001);
            HttpConnectionManager hcm = outbound.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
            assertThat(hcm.getRds().getRouteConfigName()).isEqualTo("outbound");
            ads.ack(lds, List.of());

            ads.request(RDS, List.of("outbound"), null);
            DiscoveryResponse rds = ads.next(RDS);
            RouteConfiguration rc = AdsClient.unpack(rds, RouteConfiguration.class).get(0);
            assertThat(rc.getVirtualHostsList()).hasSize(1);
            assertThat(rc.getVirtualHosts(0).getDomainsList()).containsExactly("echo", "echo:*");
            assertThat(rc.getVirtualHosts(0).getRoutes(0).getRoute().getTimeout().getSeconds()).isEqualTo(15);
            ads.ack(rds, List.of("outbound"));

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(proxy("sidecar~client~c1").path("state").asText()).isEqualTo("SYNCED"));

            // a policy change reaches the proxy as a new route configuration; the proxy rejects it
            HttpResponse<String> r = put("/api/v1/policy/Service/echo", "kind: Service\nname: echo\nspec:\n  timeout: 2s\n");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            DiscoveryResponse rds2 = ads.next(RDS);
            RouteConfiguration rc2 = AdsClient.unpack(rds2, RouteConfiguration.class).get(0);
            assertThat(rc2.getVirtualHosts(0).getRoutes(0).getRoute().getTimeout().getSeconds()).isEqualTo(2);
            ads.nack(rds2, rds, List.of("outbound"), "route outbound: timeout 2s not supported here");
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                JsonNode p = proxy("sidecar~client~c1");
                assertThat(p.path("state").asText()).isEqualTo("NACKED");
                assertThat(p.path("resources").path("RDS").path("lastNack").path("error").asText())
                        .isEqualTo("route outbound: timeout 2s not supported here");
                assertThat(p.path("resources").path("RDS").path("lastNack").path("version").asText())
                        .isEqualTo(rds2.getVersionInfo());
                assertThat(p.path("resources").path("RDS").path("acked").asText()).isEqualTo(rds.getVersionInfo());
            });
            assertThat(ads.poll(RDS, 300)).as("the rejected version is not sent again").isNull();
            java.io.StringWriter status = new java.io.StringWriter();
            picocli.CommandLine cl = dev.trellis.common.cli.Cli.commandLine(new dev.trellis.controlplane.cli.ControlPlaneMain());
            cl.setOut(new java.io.PrintWriter(status));
            Path tokenFile = Files.createTempFile("admin", ".token");
            Files.writeString(tokenFile, cp.adminToken());
            assertThat(cl.execute("status", "--control-plane-admin", "http://127.0.0.1:" + cp.adminPort(),
                    "--admin-token-file", tokenFile.toString())).isZero();
            assertThat(status.toString())
                    .containsPattern("sidecar~client~c1 +sidecar +NACKED ")
                    .contains("sidecar~client~c1 RDS version " + rds2.getVersionInfo()
                            + ": route outbound: timeout 2s not supported here")
                    .contains("registry: 4 instance(s), 3 routable");
            assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cp.adminPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body())
                    .contains("trellis_xds_nacks_total{type=\"RDS\"} 1.0")
                    .contains("trellis_xds_connected_proxies")
                    .contains("trellis_registry_instances 4.0")
                    .contains("trellis_xds_change_to_ack_seconds_bucket")
                    .containsPattern("trellis_xds_push_latency_seconds_count [1-9]")
                    // one proxy: each type pushed once, and RDS again for the policy change it NACKed
                    .contains("trellis_xds_pushes_total{type=\"CDS\"} 1.0")
                    .contains("trellis_xds_pushes_total{type=\"EDS\"} 1.0")
                    .contains("trellis_xds_pushes_total{type=\"LDS\"} 1.0")
                    .contains("trellis_xds_pushes_total{type=\"RDS\"} 2.0");

            // the next accepted push clears the NACK
            put("/api/v1/policy/Service/echo", "kind: Service\nname: echo\nspec:\n  timeout: 3s\n");
            DiscoveryResponse rds3 = ads.next(RDS);
            ads.ack(rds3, List.of("outbound"));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(proxy("sidecar~client~c1").path("state").asText()).isEqualTo("SYNCED"));

            // the scope: 'other' never reached this proxy
            assertThat(ads.poll(CDS, 200)).isNull();
            JsonNode dump = get("/api/v1/config_dump?node=sidecar~client~c1");
            assertThat(dump.path("clusters").path("outbound|echo").path("loadBalancingPolicy").path("policies").get(0)
                    .path("typedExtensionConfig").path("name").asText()).isEqualTo("trellis.load_balancing_policies.peak_ewma");
            assertThat(dump.path("listeners").path("outbound").path("filterChains").get(0).path("filters").get(0)
                    .path("typedConfig").path("rds").path("routeConfigName").asText()).isEqualTo("outbound");
            assertThat(dump.path("endpoints").path("outbound|echo").path("endpoints").get(0).path("lbEndpoints")).hasSize(2);
        }
    }

    @Test
    void killedInstanceLeavesEdsAfterTheGracePeriod() throws Exception {
        healthy("echo", "echo-1", 9001);
        Sidecars.Registration second = healthy("echo", "echo-2", 9002);
        await().until(() -> cp.registry().instances().stream().filter(i -> i.routable()).count() == 2);
        try (AdsClient ads = new AdsClient(channel, "sidecar~client~c1", List.of("echo"))) {
            ads.request(EDS, List.of("outbound|echo"), null);
            DiscoveryResponse eds = ads.next(EDS);
            assertThat(AdsClient.endpoints(eds)).hasSize(2);
            ads.ack(eds, List.of("outbound|echo"));

            long t0 = System.nanoTime();
            second.kill();
            DiscoveryResponse eds2 = ads.next(EDS);
            long tookMs = (System.nanoTime() - t0) / 1_000_000;
            assertThat(AdsClient.endpoints(eds2)).containsExactly("outbound|echo=127.0.0.1:9001");
            assertThat(tookMs).as("removed after the 300ms grace period, within 2s").isBetween(250L, 2000L);
        }
    }

    @Test
    void unhealthyInstanceLeavesEdsAtOnceAndComesBack() throws Exception {
        healthy("echo", "echo-1", 9001);
        Sidecars.Registration sick = healthy("echo", "echo-2", 9002);
        await().until(() -> cp.registry().instances().stream().filter(i -> i.routable()).count() == 2);
        try (AdsClient ads = new AdsClient(channel, "sidecar~client~c1", List.of("echo"))) {
            ads.request(EDS, List.of("outbound|echo"), null);
            ads.ack(ads.next(EDS), List.of("outbound|echo"));
            long t0 = System.nanoTime();
            sick.health(HealthStatus.UNHEALTHY);
            DiscoveryResponse eds = ads.next(EDS);
            assertThat(AdsClient.endpoints(eds)).containsExactly("outbound|echo=127.0.0.1:9001");
            assertThat((System.nanoTime() - t0) / 1_000_000).as("ms to leave EDS").isLessThan(1000);
            ads.ack(eds, List.of("outbound|echo"));
            sick.health(HealthStatus.HEALTHY);
            assertThat(AdsClient.endpoints(ads.next(EDS))).hasSize(2);
        }
    }

    @Test
    void aRegistrationCarryingItsHealthReachesPeersInOnePush() throws Exception {
        // as after a control-plane restart: a proxy of the whole mesh is connected before echo's sidecars
        // re-register (one that declares echo as an upstream gets echo's empty endpoints at once: it is
        // the sidecar's ADS client that waits for the registry to settle then)
        try (AdsClient ads = new AdsClient(channel, "sidecar~client~c1", List.of())) {
            ads.request(EDS, List.of("outbound|echo"), null);
            Sidecars.Registration r = new Sidecars.Registration(channel);
            r.send(RegistrationRequest.newBuilder()
                    .setRegister(Instance.newBuilder().setService("echo").setInstanceId("echo-1").setAddress("127.0.0.1")
                            .setInboundPort(9001).setProtocol("http"))
                    .setHealthAtRegister(HealthReport.newBuilder().setStatus(HealthStatus.HEALTHY)).build());
            assertThat(r.next()).isInstanceOf(RegistrationResponse.class);
            // the first EDS the proxy gets for echo already has the instance: never an empty service
            assertThat(AdsClient.endpoints(ads.next(EDS))).containsExactly("outbound|echo=127.0.0.1:9001");
        }
    }

    @Test
    void reconnectWithinTheGracePeriodKeepsTheInstance() throws Exception {
        Sidecars.Registration first = healthy("echo", "echo-1", 9001);
        await().until(() -> cp.registry().instances().stream().anyMatch(i -> i.routable()));
        first.kill();
        Sidecars.Registration again = new Sidecars.Registration(channel).register("echo", "echo-1", 9001);
        again.next();
        Thread.sleep(600); // twice the grace period: the old call's timer must not remove the new owner's instance
        assertThat(cp.registry().instances()).singleElement().satisfies(i -> {
            assertThat(i.connected()).isTrue();
            assertThat(i.routable()).isTrue();
        });
    }

    @Test
    void deregisterAnswersOnceEveryProxyAckedTheRemoval() throws Exception {
        Sidecars.Registration leaving = healthy("echo", "echo-1", 9001);
        healthy("echo", "echo-2", 9002);
        await().until(() -> cp.registry().instances().stream().filter(i -> i.routable()).count() == 2);
        try (AdsClient caller = new AdsClient(channel, "sidecar~client~c1", List.of("echo"));
             AdsClient bystander = new AdsClient(channel, "sidecar~other~o1", List.of("nothing-here"))) {
            caller.request(EDS, List.of("outbound|echo"), null);
            DiscoveryResponse eds = caller.next(EDS);
            caller.ack(eds, List.of("outbound|echo"));
            bystander.request(CDS, List.of(), null);
            bystander.ack(bystander.next(CDS), List.of());
            await().until(() -> proxy("sidecar~client~c1") != null
                    && proxy("sidecar~client~c1").path("state").asText().equals("SYNCED"));

            leaving.deregister(Duration.ofSeconds(10));
            DiscoveryResponse eds2 = caller.next(EDS);
            assertThat(AdsClient.endpoints(eds2)).containsExactly("outbound|echo=127.0.0.1:9002");
            Thread.sleep(200);
            assertThat(leaving.events).as("no answer before the caller ACKed").isEmpty();
            caller.ack(eds2, List.of("outbound|echo"));
            RegistrationResponse ack = (RegistrationResponse) leaving.next();
            assertThat(ack.getRemovalAcknowledged().getComplete()).isTrue();
            assertThat(ack.getRemovalAcknowledged().getPendingNodesList()).isEmpty();
            assertThat(leaving.next()).isEqualTo("completed");
        }
    }

    @Test
    void replacementOnTheSameAddressDoesNotHoldUpTheOldInstancesRemoval() throws Exception {
        Sidecars.Registration old = healthy("echo", "echo-old", 9001);
        await().until(() -> cp.registry().instances().stream().anyMatch(i -> i.routable()));
        try (AdsClient caller = new AdsClient(channel, "sidecar~client~c1", List.of("echo"))) {
            caller.request(EDS, List.of("outbound|echo"), null);
            caller.ack(caller.next(EDS), List.of("outbound|echo"));
            healthy("echo", "echo-new", 9001); // the restarted process, same address and port
            caller.ack(caller.next(EDS), List.of("outbound|echo"));
            old.deregister(Duration.ofSeconds(10));
            DiscoveryResponse eds = caller.next(EDS);
            assertThat(AdsClient.endpoints(eds)).containsExactly("outbound|echo=127.0.0.1:9001");
            caller.ack(eds, List.of("outbound|echo"));
            RegistrationResponse ack = (RegistrationResponse) old.next();
            assertThat(ack.getRemovalAcknowledged().getComplete()).isTrue();
        }
    }

    @Test
    void deregisterGivesUpAtTheBoundNamingWhoDidNotAck() throws Exception {
        Sidecars.Registration leaving = healthy("echo", "echo-1", 9001);
        await().until(() -> cp.registry().instances().stream().anyMatch(i -> i.routable()));
        try (AdsClient caller = new AdsClient(channel, "sidecar~client~c1", List.of("echo"))) {
            caller.request(EDS, List.of("outbound|echo"), null);
            caller.ack(caller.next(EDS), List.of("outbound|echo"));
            await().until(() -> proxy("sidecar~client~c1").path("state").asText().equals("SYNCED"));
            leaving.deregister(Duration.ofMillis(300));
            caller.next(EDS); // never ACKed
            RegistrationResponse ack = (RegistrationResponse) leaving.next();
            assertThat(ack.getRemovalAcknowledged().getComplete()).isFalse();
            assertThat(ack.getRemovalAcknowledged().getPendingNodesList()).containsExactly("sidecar~client~c1");
        }
    }

    @Test
    void proxylessClientGetsAnApiListenerPerService() throws Exception {
        Sidecars.Registration echoOnly = healthy("echo", "echo-1", 9001);
        await().until(() -> cp.registry().instances().stream().anyMatch(i -> i.routable()));
        try (AdsClient ads = new AdsClient(channel, "grpc-client-1", List.of())) {
            ads.request(LDS, List.of("echo"), null);
            Listener l = AdsClient.unpack(ads.next(LDS), Listener.class).get(0);
            assertThat(l.getName()).isEqualTo("echo");
            HttpConnectionManager hcm = l.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
            assertThat(hcm.getRds().getRouteConfigName()).isEqualTo("echo");
            assertThat(hcm.getRds().getConfigSource().hasAds()).isTrue();
            assertThat(hcm.getHttpFilters(0).getName()).isEqualTo("envoy.filters.http.router");
            ads.request(RDS, List.of("echo"), null);
            RouteConfiguration rc = AdsClient.unpack(ads.next(RDS), RouteConfiguration.class).get(0);
            assertThat(rc.getVirtualHosts(0).getDomainsList()).containsExactly("echo");
            assertThat(rc.getVirtualHosts(0).getRoutes(0).getRoute().getCluster()).isEqualTo("outbound|echo");
            ads.request(CDS, List.of(), null);
            Cluster c = AdsClient.unpack(ads.next(CDS), Cluster.class).get(0);
            assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
            ads.request(EDS, List.of("outbound|echo"), null);
            DiscoveryResponse eds = ads.next(EDS);
            var cla = AdsClient.unpack(eds, io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class).get(0);
            assertThat(cla.getEndpoints(0).getLoadBalancingWeight().getValue()).isEqualTo(1);
            ads.ack(eds, List.of("outbound|echo"));

            // an unknown service is answered at once, without it (grpc-java then fails fast)
            try (AdsClient other = new AdsClient(channel, "grpc-client-2", List.of())) {
                other.request(LDS, List.of("nope"), null);
                assertThat(other.next(LDS).getResourcesList()).isEmpty();
            }

            // the last instance leaving empties the endpoints (the service does not just vanish)
            echoOnly.deregister(Duration.ofSeconds(5));
            assertThat(AdsClient.endpoints(ads.next(EDS))).isEmpty();
        }
    }

    @Test
    void registeredSidecarGetsItsInboundListener() throws Exception {
        Sidecars.Registration r = new Sidecars.Registration(channel).register(Instance.newBuilder()
                .setService("users").setInstanceId("u1").setAddress("127.0.0.1").setInboundPort(15006)
                .setAppPort(8080).setProtocol("http").build());
        r.next();
        try (AdsClient ads = new AdsClient(channel, "sidecar~users~u1", List.of())) {
            ads.request(LDS, List.of(), null);
            assertThat(AdsClient.unpack(ads.next(LDS), Listener.class)).extracting(Listener::getName)
                    .containsExactly("inbound", "outbound");
            ads.request(CDS, List.of(), null);
            Cluster inbound = AdsClient.unpack(ads.next(CDS), Cluster.class).stream()
                    .filter(c -> c.getName().equals("inbound|users")).findFirst().orElseThrow();
            assertThat(inbound.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress()
                    .getSocketAddress().getPortValue()).isEqualTo(8080);
        }
    }

    @Test
    void registrationProtocolErrorsEndTheCall() throws Exception {
        Sidecars.Registration early = new Sidecars.Registration(channel);
        early.health(HealthStatus.HEALTHY);
        assertThat(((StatusRuntimeException) early.next()).getStatus().getDescription())
                .isEqualTo("request.health: before register (expected: register as the first message)");
        Sidecars.Registration twice = new Sidecars.Registration(channel).register("echo", "e1", 9001);
        twice.next();
        twice.register("echo", "e2", 9002);
        StatusRuntimeException e = (StatusRuntimeException) twice.next();
        assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.FAILED_PRECONDITION);
        assertThat(e.getStatus().getDescription()).contains("second register on one call");
        Sidecars.Registration badPort = new Sidecars.Registration(channel).register("echo", "e3", 0);
        assertThat(((StatusRuntimeException) badPort.next()).getStatus().getDescription())
                .isEqualTo("instance.inbound_port: 0 (expected: 1..65535)");
    }

    @Test
    void invalidRegistrationIsRefusedNamingTheField() throws Exception {
        Sidecars.Registration r = new Sidecars.Registration(channel).register("Bad_Name", "x1", 9001);
        Object e = r.next();
        assertThat(e).isInstanceOf(StatusRuntimeException.class);
        assertThat(((StatusRuntimeException) e).getStatus().getDescription())
                .isEqualTo("instance.service: 'Bad_Name' (expected: lower-case letters, digits, '-' and '.')");
    }

    @Test
    void changesReachOnlyTheProxiesTheyAffect() throws Exception {
        healthy("echo", "echo-1", 9001);
        healthy("users", "users-1", 9101);
        await().until(() -> cp.registry().instances().stream().filter(i -> i.routable()).count() == 2);
        try (AdsClient echoCaller = new AdsClient(channel, "sidecar~a~a1", List.of("echo"));
             AdsClient usersCaller = new AdsClient(channel, "sidecar~b~b1", List.of("users"))) {
            usersCaller.nodeOnFirstRequestOnly = true;
            for (AdsClient c : List.of(echoCaller, usersCaller)) {
                c.request(CDS, List.of(), null);
                c.ack(c.next(CDS), List.of());
                c.request(RDS, List.of("outbound"), null);
                c.ack(c.next(RDS), List.of("outbound"));
            }
            echoCaller.request(EDS, List.of("outbound|echo"), null);
            echoCaller.ack(echoCaller.next(EDS), List.of("outbound|echo"));
            usersCaller.request(EDS, List.of("outbound|users"), null);
            DiscoveryResponse usersEds = usersCaller.next(EDS);
            usersCaller.ack(usersEds, List.of("outbound|users"));

            healthy("echo", "echo-2", 9002);
            assertThat(AdsClient.endpoints(echoCaller.next(EDS))).hasSize(2);
            put("/api/v1/policy/Service/echo", "{\"timeout\": \"4s\"}");
            DiscoveryResponse rds = echoCaller.next(RDS);
            assertThat(AdsClient.unpack(rds, RouteConfiguration.class).get(0).getVirtualHosts(0).getRoutes(0)
                    .getRoute().getTimeout().getSeconds()).isEqualTo(4);
            assertThat(echoCaller.poll(CDS, 300)).as("clusters did not change: no CDS push").isNull();
            for (String type : List.of(CDS, RDS, EDS, LDS)) {
                assertThat(usersCaller.poll(type, 100)).as("no %s push to a proxy that does not call echo", type).isNull();
            }

            // a node-less request on the same stream is still served for its node
            healthy("users", "users-2", 9102);
            DiscoveryResponse users2 = usersCaller.next(EDS);
            assertThat(AdsClient.endpoints(users2)).hasSize(2);
            usersCaller.ack(users2, List.of("outbound|users"));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(proxy("sidecar~b~b1").path("resources").path("EDS").path("acked").asText())
                            .isEqualTo(users2.getVersionInfo()));
        }
    }

    @Test
    void deltaAdsIsServedAndTrackedToo() throws Exception {
        Sidecars.Registration leaving = healthy("echo", "echo-1", 9001);
        healthy("echo", "echo-2", 9002);
        await().until(() -> cp.registry().instances().stream().filter(i -> i.routable()).count() == 2);
        java.util.concurrent.LinkedBlockingQueue<io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse> got =
                new java.util.concurrent.LinkedBlockingQueue<>();
        var requests = io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.newStub(channel)
                .deltaAggregatedResources(new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse r) {
                        got.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest.newBuilder()
                .setNode(io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId("sidecar~delta~d1"))
                .setTypeUrl(EDS).addResourceNamesSubscribe("outbound|echo").build());
        var first = got.poll(10, TimeUnit.SECONDS);
        assertThat(first).isNotNull();
        assertThat(first.getResourcesList()).extracting(r -> r.getName()).containsExactly("outbound|echo");
        requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest.newBuilder()
                .setTypeUrl(EDS).setResponseNonce(first.getNonce()).build());
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            JsonNode p = proxy("sidecar~delta~d1");
            assertThat(p.path("resources").path("EDS").path("acked").asText()).isEqualTo(first.getSystemVersionInfo());
            assertThat(p.path("state").asText()).isEqualTo("SYNCED");
        });

        leaving.deregister(Duration.ofSeconds(10));
        var second = got.poll(10, TimeUnit.SECONDS);
        assertThat(second).isNotNull();
        var cla = second.getResources(0).getResource().unpack(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class);
        assertThat(cla.getEndpoints(0).getLbEndpointsCount()).isEqualTo(1);
        Thread.sleep(200);
        assertThat(leaving.events).as("waits for the delta client's ACK").isEmpty();
        requests.onNext(io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest.newBuilder()
                .setTypeUrl(EDS).setResponseNonce(second.getNonce()).build());
        RegistrationResponse ack = (RegistrationResponse) leaving.next();
        assertThat(ack.getRemovalAcknowledged().getComplete()).isTrue();
        requests.onCompleted();
    }

    @Test
    void aNackedFirstRouteResponseIsNotSentAgainUntilSomethingChanges() throws Exception {
        healthy("echo", "echo-1", 9001);
        try (AdsClient ads = new AdsClient(channel, "sidecar~client~c2", List.of("echo"))) {
            ads.request(LDS, List.of(), null);
            ads.ack(ads.next(LDS), List.of());
            // the proxy refuses the very first RDS response: its names were never ACKed
            ads.request(RDS, List.of("outbound"), null);
            DiscoveryResponse rds = ads.next(RDS);
            ads.nack(rds, null, List.of("outbound"), "route outbound: not for me");
            assertThat(ads.poll(RDS, 500)).as("the rejected version is not sent again").isNull();
            // a change is
            put("/api/v1/policy/Service/echo", "kind: Service\nname: echo\nspec:\n  timeout: 3s\n");
            DiscoveryResponse next = ads.next(RDS);
            assertThat(next.getVersionInfo()).isNotEqualTo(rds.getVersionInfo());
        }
    }
}
