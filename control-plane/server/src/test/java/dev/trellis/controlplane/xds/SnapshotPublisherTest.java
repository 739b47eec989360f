package dev.trellis.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.registry.Registry;
import dev.trellis.controlplane.registry.Scheduler;
import dev.trellis.controlplane.registry.ServiceInstance;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The publisher's cost per proxy: a burst of connecting proxies shares one view of the registry. */
class SnapshotPublisherTest {
    private static final Scheduler NEVER = (task, delay) -> () -> { };
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    private final Registry registry = new Registry(Clock.systemUTC(), NEVER, Duration.ofSeconds(5));
    private final ProxyTracker tracker = new ProxyTracker(Clock.systemUTC(), NEVER, new SimpleMeterRegistry());

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private void healthy(String service, String id) {
        Registry.Lease l = registry.register(new ServiceInstance(service, id, "sidecar~" + service + "~" + id, "10.0.0.1",
                15006, 8080, "http", Map.of(), List.of(), HealthStatus.HEALTH_UNKNOWN, "", Instant.EPOCH, true));
        registry.health(l, HealthStatus.HEALTHY, "");
    }

    private void connect(long stream, String nodeId) {
        tracker.onStreamOpen(stream, Resources.V3.CLUSTER_TYPE_URL);
        tracker.onV3StreamRequest(stream, DiscoveryRequest.newBuilder().setTypeUrl(Resources.V3.CLUSTER_TYPE_URL)
                .setNode(Node.newBuilder().setId(nodeId)).build());
    }

    private static int endpoints(XdsResources r, String cluster) {
        return r.endpoints().get(cluster).getEndpointsList().stream().mapToInt(l -> l.getLbEndpointsCount()).sum();
    }

    @Test
    void connectingProxiesShareOneRegistryViewUntilTheRegistryChanges() {
        int n = 100;
        for (int i = 0; i < n; i++) healthy("echo", "e" + i);
        healthy("other", "o0");
        SnapshotPublisher publisher = new SnapshotPublisher(registry, () -> MeshPolicy.EMPTY, tracker, executor,
                Duration.ZERO, new SimpleMeterRegistry());
        registry.onChange(publisher::changed);

        for (int i = 0; i < n; i++) connect(i, "sidecar~echo~e" + i);

        // one view for the whole burst, not a sort of the registry per proxy
        assertThat(publisher.viewsBuilt()).isEqualTo(1);
        for (int i = 0; i < n; i++) {
            XdsResources r = publisher.resources("sidecar~echo~e" + i);
            // its own instance was found in the view: the inbound side is there
            assertThat(r.clusters()).containsKeys("inbound|echo", "outbound|echo", "outbound|other");
            assertThat(endpoints(r, "outbound|other")).isEqualTo(1);
        }

        healthy("other", "o1");
        // the push updates node after node: wait for the whole of it
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            for (int i = 0; i < n; i++) {
                assertThat(endpoints(publisher.resources("sidecar~echo~e" + i), "outbound|other")).isEqualTo(2);
            }
        });
        // registering and reporting healthy are two changes; pushes may merge them into one view
        assertThat(publisher.viewsBuilt()).isBetween(2L, 3L);
    }

    /**
     * A proxy that resubscribes opens its new stream before it cancels the old one (Trellis's own
     * ADS client does, after a control-plane restart). Whichever way the two race on the gRPC
     * threads, the node keeps its snapshot while a stream of it is open, and loses it with the last.
     */
    @Test
    void aNodeThatOpensANewStreamWhileClosingItsOldOneKeepsItsSnapshot() throws Exception {
        healthy("echo", "e0");
        SnapshotPublisher publisher = new SnapshotPublisher(registry, () -> MeshPolicy.EMPTY, tracker, executor,
                Duration.ZERO, new SimpleMeterRegistry());
        String node = "sidecar~echo~e0";
        var threads = Executors.newFixedThreadPool(2);
        try {
            CyclicBarrier start = new CyclicBarrier(2);
            connect(0, node);
            for (long i = 0; i < 2000; i++) {
                long old = i;
                long next = i + 1;
                Future<?> open = threads.submit(() -> {
                    start.await(5, TimeUnit.SECONDS);
                    connect(next, node);
                    return null;
                });
                Future<?> close = threads.submit(() -> {
                    start.await(5, TimeUnit.SECONDS);
                    tracker.onStreamClose(old, Resources.V3.CLUSTER_TYPE_URL);
                    return null;
                });
                open.get(5, TimeUnit.SECONDS);
                close.get(5, TimeUnit.SECONDS);
                assertThat(publisher.resources(node)).as("resources after resubscribe %d", next).isNotNull();
                assertThat(publisher.cache().getSnapshot(node)).as("snapshot after resubscribe %d", next).isNotNull();
            }
            tracker.onStreamClose(2000, Resources.V3.CLUSTER_TYPE_URL);
            assertThat(publisher.resources(node)).isNull();
            assertThat(publisher.cache().getSnapshot(node)).isNull();
        } finally {
            threads.shutdownNow();
        }
    }
}
