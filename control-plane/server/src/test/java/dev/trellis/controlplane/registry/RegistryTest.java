package dev.trellis.controlplane.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.controlplane.api.v1.HealthStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegistryTest {
    /** Tasks run only when the test moves time forward. */
    static final class ManualScheduler implements Scheduler {
        record Task(Runnable run, long at, boolean[] cancelled) {}

        final List<Task> tasks = new ArrayList<>();
        long now;

        @Override
        public Runnable schedule(Runnable task, Duration delay) {
            boolean[] cancelled = {false};
            tasks.add(new Task(task, now + delay.toMillis(), cancelled));
            return () -> cancelled[0] = true;
        }

        void advance(Duration d) {
            now += d.toMillis();
            for (Task t : List.copyOf(tasks)) {
                if (t.at() <= now && !t.cancelled()[0]) {
                    tasks.remove(t);
                    t.run().run();
                }
            }
        }
    }

    private final ManualScheduler scheduler = new ManualScheduler();
    private final Registry registry = new Registry(Clock.fixed(Instant.EPOCH, ZoneOffset.UTC), scheduler, Duration.ofSeconds(5));

    private static ServiceInstance instance(String id) {
        return new ServiceInstance("echo", id, "sidecar~echo~" + id, "10.0.0.1", 15006, 8080, "http", Map.of(), List.of(),
                HealthStatus.HEALTH_UNKNOWN, "", Instant.EPOCH, true);
    }

    @Test
    void routableOnlyWhileHealthy() {
        Registry.Lease l = registry.register(instance("e1"));
        assertThat(registry.instances()).singleElement().matches(i -> !i.routable());
        registry.health(l, HealthStatus.HEALTHY, "");
        assertThat(registry.instances()).singleElement().matches(ServiceInstance::routable);
        registry.health(l, HealthStatus.UNHEALTHY, "GET /health -> 503");
        assertThat(registry.instances()).singleElement().matches(i -> !i.routable() && i.healthDetail().contains("503"));
    }

    @Test
    void brokenCallRemovesTheInstanceOnlyAfterTheGracePeriod() {
        Registry.Lease l = registry.register(instance("e1"));
        registry.health(l, HealthStatus.HEALTHY, "");
        long before = registry.generation();
        registry.disconnected(l);
        scheduler.advance(Duration.ofMillis(4999));
        assertThat(registry.instances()).singleElement().matches(i -> i.routable() && !i.connected());
        scheduler.advance(Duration.ofMillis(1));
        assertThat(registry.instances()).isEmpty();
        assertThat(registry.generation()).isGreaterThan(before);
    }

    @Test
    void aNewCallWithinTheGracePeriodTakesOverAndKeepsHealth() {
        Registry.Lease old = registry.register(instance("e1"));
        registry.health(old, HealthStatus.HEALTHY, "");
        registry.disconnected(old);
        scheduler.advance(Duration.ofSeconds(2));
        Registry.Lease fresh = registry.register(instance("e1"));
        scheduler.advance(Duration.ofSeconds(10));
        assertThat(registry.instances()).singleElement().matches(i -> i.connected() && i.routable());
        // the old call's late messages no longer count
        registry.health(old, HealthStatus.UNHEALTHY, "");
        assertThat(registry.deregister(old)).isNull();
        assertThat(registry.instances()).singleElement().matches(ServiceInstance::routable);
        assertThat(registry.deregister(fresh)).isNotNull();
        assertThat(registry.instances()).isEmpty();
    }

    @Test
    void aRegistrationWithItsHealthIsRoutableInTheSameChange() {
        long before = registry.generation();
        registry.register(instance("e1").withHealth(HealthStatus.HEALTHY, ""));
        assertThat(registry.generation()).isEqualTo(before + 1);
        assertThat(registry.instances()).singleElement().matches(ServiceInstance::routable);
    }

    @Test
    void aTakeOverWithAReportedHealthUsesItRatherThanTheOldOne() {
        Registry.Lease old = registry.register(instance("e1"));
        registry.health(old, HealthStatus.HEALTHY, "");
        registry.disconnected(old);
        registry.register(instance("e1").withHealth(HealthStatus.UNHEALTHY, "GET /health -> 503"));
        assertThat(registry.instances()).singleElement().matches(i -> i.connected() && !i.routable());
    }
}
