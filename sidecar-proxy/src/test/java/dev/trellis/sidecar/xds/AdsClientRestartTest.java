package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.common.cli.HostPort;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.registry.ServiceInstance;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A control plane that comes back as a new process starts with an empty registry. The ADS client
 * must not apply what that process says before the other sidecars re-registered (their services
 * would have no endpoints): it waits {@code restartSettle} and then resubscribes, so every config
 * it accepts still has the endpoints. Time moves on a manual scheduler.
 */
class AdsClientRestartTest {
    private static final Duration SETTLE = Duration.ofSeconds(10);

    @Test
    void afterARestartOnlyTheSettledStateIsApplied() throws Exception {
        int port = Mesh.freePort();
        ManagedChannel channel = ControlPlaneChannel.open(new HostPort("127.0.0.1", port));
        ManualScheduler sched = new ManualScheduler();
        List<Integer> usersEndpoints = new CopyOnWriteArrayList<>();
        AdsClient ads = new AdsClient(channel, Node.newBuilder().setId("sidecar~front~front-1").build(), (c, t) -> {
            if (t == XdsType.EDS && c.endpoints().containsKey("outbound|users")) {
                usersEndpoints.add(c.endpoints().get("outbound|users").getEndpointsList().stream()
                        .mapToInt(l -> l.getLbEndpointsCount()).sum());
            }
            return Optional.empty();
        }, sched, new Backoff(Duration.ofMillis(100), Duration.ofMillis(100), () -> 1.0), SETTLE);
        try (Mesh mesh = new Mesh(Duration.ofSeconds(5), port)) {
            front(mesh.cp);
            register(mesh.cp);
            ads.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                sched.runReady();
                return usersEndpoints.contains(1);
            });

            mesh.cp.close();
            mesh.cp = mesh.startControlPlane(port);
            // the front sidecar re-registers first: the new process knows it calls users, and of users nothing yet
            front(mesh.cp);
            // reconnect (the backoff's 100 ms) and get the new process' first answers: held, not applied
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                sched.runReady();
                if (!ads.connected() && sched.pendingDelays().contains(Duration.ofMillis(100))) {
                    sched.advance(Duration.ofMillis(100));
                }
                return sched.pendingDelays().contains(SETTLE);
            });
            int applied = usersEndpoints.size();
            long streams = ads.streams();
            register(mesh.cp); // the users sidecar re-registers while the front sidecar settles
            ControlPlane cp = mesh.cp;
            await().atMost(Duration.ofSeconds(30)).until(() -> { // the (debounced) push has been computed
                var published = cp.publisher().resources("sidecar~front~front-1");
                return published != null && published.endpoints().containsKey("outbound|users")
                        && published.endpoints().get("outbound|users").getEndpointsCount() > 0;
            });
            sched.advance(SETTLE);
            assertThat(ads.streams()).isEqualTo(streams + 1);
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                sched.runReady();
                return usersEndpoints.size() > applied;
            });
            assertThat(usersEndpoints).as("endpoints of outbound|users in every accepted config").containsOnly(1);
        } finally {
            ads.close();
            sched.runReady();
            channel.shutdownNow();
        }
    }

    private static void front(ControlPlane cp) {
        cp.registry().register(new ServiceInstance("front", "front-1", "sidecar~front~front-1", "127.0.0.1", 15007,
                8081, "http", Map.of(), List.of("users"), HealthStatus.HEALTHY, "", Instant.now(), true));
    }

    private static void register(ControlPlane cp) {
        cp.registry().register(new ServiceInstance("users", "users-1", "sidecar~users~users-1", "127.0.0.1", 15006,
                8080, "http", Map.of(), List.of(), HealthStatus.HEALTHY, "", Instant.now(), true));
    }
}
