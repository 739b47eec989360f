package dev.trellis.e2e;

import static dev.trellis.e2e.DeployManifestsTest.args;
import static dev.trellis.e2e.DeployManifestsTest.checkFileFromVolume;
import static dev.trellis.e2e.DeployManifestsTest.checkFlags;
import static dev.trellis.e2e.DeployManifestsTest.checkProbes;
import static dev.trellis.e2e.DeployManifestsTest.container;
import static dev.trellis.e2e.DeployManifestsTest.containerPorts;
import static dev.trellis.e2e.DeployManifestsTest.flag;
import static dev.trellis.e2e.DeployManifestsTest.named;
import static dev.trellis.e2e.DeployManifestsTest.one;
import static dev.trellis.e2e.DeployManifestsTest.upstreamEnvName;
import static dev.trellis.e2e.DeployManifestsTest.volume;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/k8s's demo service and gateway pods against the sidecar's and the services' own command lines.
 * Runs once the sidecar jar has what the pods use: flags mode with identity ({@code sidecar --service ...
 * --ca-file --token-file}) and the {@code gateway} command; until then it is skipped, saying what is missing.
 */
class DemoServicePodsTest {
    @BeforeAll
    static void load() throws Exception {
        DeployManifestsTest.load();
        java.util.Map<String, String> sidecar = Jars.options(Jars.SIDECAR, "sidecar");
        org.junit.jupiter.api.Assumptions.assumeTrue(sidecar.keySet().containsAll(List.of("--service", "--ca-file", "--token-file")),
                "the sidecar has no flags mode with identity yet (sidecar --service/--ca-file/--token-file)");
    }

    @Test
    void eachDemoServiceRunsWithItsSidecarWiredToTheApp() throws Exception {
        JsonNode cpSvc = named("Service", "trellis-control-plane");
        for (String service : List.of("user-service", "notification-service")) {
            JsonNode pod = named("Deployment", service).path("spec").path("template").path("spec");
            JsonNode app = container(pod, "app");
            JsonNode sidecar = container(pod, "sidecar");
            checkFlags(app);
            Map<String, String> sidecarCmd = checkFlags(sidecar);
            List<String> sa = args(sidecar);
            List<String> aa = args(app);
            assertThat(sa.get(0)).isEqualTo("sidecar");
            assertThat(one(sa, "--service")).isEqualTo(service);

            // app port: what the app listens on, what the sidecar forwards to, what the kubelet probes
            int appPort = Integer.parseInt(one(sa, "--app-port"));
            assertThat(Integer.parseInt(one(aa, "--port"))).isEqualTo(appPort);
            assertThat(containerPorts(app)).contains(appPort);
            checkProbes(app, appPort);
            // an app that serves gRPC on a second port has it behind the sidecar too
            if (!flag(aa, "--grpc-port").isEmpty()) {
                assertThat(one(sa, "--app-grpc-port")).as(service + " sidecar --app-grpc-port").isEqualTo(one(aa, "--grpc-port"));
            }

            // sidecar ports are the code's defaults, declared and probed
            int admin = Integer.parseInt(one(sa, "--admin-port"));
            int inbound = Integer.parseInt(one(sa, "--inbound-port"));
            int outbound = Integer.parseInt(one(sa, "--outbound-port"));
            assertThat(admin).isEqualTo(Jars.intDefault(sidecarCmd, "--admin-port").orElseThrow()).isEqualTo(15000);
            assertThat(inbound).isEqualTo(Jars.intDefault(sidecarCmd, "--inbound-port").orElseThrow()).isEqualTo(15006);
            assertThat(outbound).isEqualTo(Jars.intDefault(sidecarCmd, "--outbound-port").orElseThrow()).isEqualTo(15001);
            assertThat(containerPorts(sidecar)).contains(admin, inbound);
            checkProbes(sidecar, admin);
            // the kubelet probes the pod IP: the admin server must not be on loopback only
            assertThat(one(sa, "--admin-address")).isEqualTo("0.0.0.0");

            // the control plane address is its Service's gRPC port
            String cp = one(sa, "--control-plane");
            assertThat(cp).isEqualTo("trellis-control-plane.trellis.svc.cluster.local:15012");
            assertThat(cpSvc.path("spec").path("ports").findValuesAsText("port")).contains("15012");

            // upstreams: the sidecar serves each on a local port, the app gets its URL as trellis run would set it
            Map<String, String> env = new LinkedHashMap<>();
            app.path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
            Map<String, String> expected = new LinkedHashMap<>();
            for (String u : flag(sa, "--upstream")) {
                String[] nameAndPort = u.split("=", 2);
                int port = Integer.parseInt(nameAndPort[1]);
                assertThat(port).as("--upstream " + u).isBetween(1, 65535).isNotIn(admin, inbound, outbound, appPort);
                expected.put(upstreamEnvName(nameAndPort[0]), "http://127.0.0.1:" + port);
            }
            assertThat(env.entrySet().stream().filter(e -> e.getKey().startsWith("TRELLIS_UPSTREAM_")).toList())
                    .containsExactlyInAnyOrderElementsOf(expected.entrySet());

            // identity: join token from this service's Secret, CA bundle from the shared ConfigMap
            JsonNode token = checkFileFromVolume(pod, sidecar, one(sa, "--token-file"));
            assertThat(token.path("secret").path("secretName").asText()).isEqualTo(service + "-join-token");
            JsonNode ca = checkFileFromVolume(pod, sidecar, one(sa, "--ca-file"));
            assertThat(ca.path("configMap").path("name").asText()).isEqualTo("trellis-ca-bundle");
            assertThat(Path.of(one(sa, "--ca-file")).getFileName().toString()).isEqualTo("ca-bundle.pem");

            // the peers' address is the pod IP from the downward API
            assertThat(one(sa, "--address")).isEqualTo("$(POD_IP)");
            assertThat(sidecar.path("env").findValuesAsText("fieldPath")).contains("status.podIP");

            // the data dir is on the service's own volume
            String dataDir = one(aa, "--data-dir");
            assertThat(app.path("volumeMounts").findValuesAsText("mountPath")).contains(dataDir);

            // only the sidecar's inbound port is open to other pods
            JsonNode np = named("NetworkPolicy", service + "-mesh-only");
            assertThat(np.path("spec").path("ingress").get(0).path("ports").findValuesAsText("port"))
                    .containsExactly(String.valueOf(inbound));
            for (JsonNode c : pod.path("containers")) {
                c.path("volumeMounts").forEach(m -> volume(pod, m.path("name").asText()));
            }
            assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
            assertThat(pod.path("securityContext").path("runAsUser").asInt()).isEqualTo(10001);
        }
    }


    @Test
    void theGatewayPodPassesOnlyGatewayOptionsAndMountsItsFiles() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Jars.options(Jars.SIDECAR, "gateway").containsKey("--name"),
                "the sidecar jar has no gateway command yet");
        JsonNode deployment = named("Deployment", "edge-gateway");
        JsonNode pod = deployment.path("spec").path("template").path("spec");
        JsonNode gw = container(pod, "gateway");
        java.util.Map<String, String> options = checkFlags(gw);
        List<String> a = args(gw);
        assertThat(a.get(0)).isEqualTo("gateway");
        int admin = Integer.parseInt(one(a, "--admin-port"));
        checkProbes(gw, admin);
        assertThat(one(a, "--admin-address")).isEqualTo("0.0.0.0");
        int listen = Integer.parseInt(one(a, "--listen"));
        assertThat(containerPorts(gw)).contains(listen, admin);
        assertThat(one(a, "--control-plane")).isEqualTo("trellis-control-plane.trellis.svc.cluster.local:15012");
        JsonNode token = checkFileFromVolume(pod, gw, one(a, "--token-file"));
        assertThat(token.path("secret").path("secretName").asText()).isEqualTo(one(a, "--name") + "-join-token");
        assertThat(checkFileFromVolume(pod, gw, one(a, "--ca-file")).path("configMap").path("name").asText())
                .isEqualTo("trellis-ca-bundle");
        checkFileFromVolume(pod, gw, one(a, "--tls-cert"));
        checkFileFromVolume(pod, gw, one(a, "--tls-key"));
        JsonNode svc = named("Service", "edge-gateway");
        assertThat(svc.path("spec").path("ports").get(0).path("targetPort").asInt()).isEqualTo(listen);
        assertThat(options).containsKey("--name");
    }
}
