package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The control plane goes away for 30 s under steady load and comes back as a new process on the
 * same port: not one request fails, and the sidecars re-register and resync. (The one slow test.)
 */
class ControlPlaneOutageTest {
    @Test
    void thirtySecondsWithoutTheControlPlaneUnderLoadThenResync() throws Exception {
        int cpPort = Mesh.freePort();
        try (Mesh mesh = new Mesh(Duration.ofSeconds(5), cpPort)) {
            TestApp users1 = mesh.app("users-1");
            TestApp users2 = mesh.app("users-2");
            TestApp front = mesh.app("front-app");
            MeshSidecar u1 = mesh.sidecar(mesh.options("users", users1, Map.of()));
            MeshSidecar u2 = mesh.sidecar(mesh.options("users", users2, Map.of()));
            MeshSidecar f = mesh.sidecar(mesh.options("front", front, Map.of("users", 0)));
            await().atMost(Duration.ofSeconds(15)).until(() -> f.ready() && u1.ready() && u2.ready()
                    && MeshTrafficTest.hosts(f, "outbound|users") == 2);
            int port = Mesh.port(f, "upstream|users");

            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger ok = new AtomicInteger();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            Thread load = new Thread(() -> {
                while (running.get()) {
                    try {
                        HttpResponse<String> r = Mesh.get(port, "/steady");
                        if (r.statusCode() == 200 && r.body().startsWith("users-")) {
                            ok.incrementAndGet();
                        } else {
                            failures.add(java.time.Instant.now() + " " + r.statusCode() + " " + r.headers().firstValue("x-trellis-response-flags").orElse("")
                                    + " " + r.body());
                        }
                        Thread.sleep(20);
                    } catch (Exception e) {
                        failures.add(java.time.Instant.now() + " " + e);
                    }
                }
            }, "steady-load");
            load.start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> ok.get() > 20);
                System.out.println("control plane stopped at " + java.time.Instant.now());
                mesh.cp.close();
                int atStop = ok.get();
                await().atMost(Duration.ofSeconds(5)).until(() -> !f.ads().connected() && !f.registration().isRegistered());
                // the outage: the sidecars keep serving on their last good config and stay ready
                Thread.sleep(30_000);
                assertThat(ok.get() - atStop).isGreaterThan(500);
                assertThat(Mesh.ready(f)).isEqualTo(200);
                assertThat(f.ads().streams()).isGreaterThan(3); // it kept trying, with backoff

                mesh.cp = mesh.startControlPlane(cpPort);
                System.out.println("control plane started at " + java.time.Instant.now());
                // every sidecar re-registers and resyncs with the new process
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                    assertThat(mesh.cp.registry().instances()).hasSize(3);
                    JsonNode proxies = mesh.admin("/api/v1/proxies");
                    assertThat(proxies).hasSize(3);
                    for (JsonNode p : proxies) {
                        assertThat(p.path("state").asText()).isEqualTo("SYNCED");
                        assertThat(p.path("resources").path("EDS").path("acked").asText()).isNotEmpty();
                    }
                });
                assertThat(f.registration().registrations()).isEqualTo(2);
                int afterResync = ok.get();
                await().atMost(Duration.ofSeconds(5)).until(() -> ok.get() > afterResync + 50);
            } finally {
                running.set(false);
                load.join(10_000);
            }
            assertThat(failures).isEmpty();
            assertThat(MeshTrafficTest.hosts(f, "outbound|users")).isEqualTo(2);
            System.out.printf("control plane outage: %d requests ok, %d failed, %d xDS streams opened by front%n",
                    ok.get(), failures.size(), f.ads().streams());
        }
    }
}
