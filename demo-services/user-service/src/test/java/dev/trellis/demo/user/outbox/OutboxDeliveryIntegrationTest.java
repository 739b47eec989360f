package dev.trellis.demo.user.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.demo.notification.NotificationServiceApp;
import dev.trellis.demo.notification.NotificationServiceConfig;
import dev.trellis.demo.user.TestHttp;
import dev.trellis.demo.user.UserServiceApp;
import dev.trellis.demo.user.UserServiceConfig;
import dev.trellis.demo.user.store.OutboxStore;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** user-service's outbox relay against a real notification-service, both on real sockets. */
class OutboxDeliveryIntegrationTest {
    @TempDir
    Path dir;
    final List<AutoCloseable> running = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (int i = running.size() - 1; i >= 0; i--) {
            running.get(i).close();
        }
    }

    NotificationServiceApp notifications(int port) throws Exception {
        NotificationServiceApp app = NotificationServiceApp.start(
                NotificationServiceConfig.defaults(dir.resolve("notifications")).withPort(port), Clock.systemUTC());
        running.add(app);
        return app;
    }

    UserServiceApp users(int notificationPort) throws Exception {
        UserServiceApp app = UserServiceApp.start(UserServiceConfig.defaults(dir.resolve("users"))
                .withNotificationUrl(URI.create("http://127.0.0.1:" + notificationPort))
                .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200)), Clock.systemUTC());
        running.add(app);
        return app;
    }

    /** Creates users with a distinct trace each; returns user id -> trace id. */
    static Map<String, String> createUsers(UserServiceApp app, int count) throws Exception {
        TestHttp http = new TestHttp(app.httpPort());
        Map<String, String> traces = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            String traceId = String.format("%016x%016x", ThreadLocalRandom.current().nextLong(), i + 1L);
            TestHttp.Reply r = http.send("POST", "/users", TestHttp.json(Map.of("name", "user " + i, "email", "u" + i + "@example.com")),
                    Map.of("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01", "tracestate", "demo=1"));
            assertThat(r.status()).isEqualTo(201);
            traces.put(r.body().get("id").asText(), traceId);
        }
        return traces;
    }

    static List<JsonNode> notificationsOf(int port, String userId) throws Exception {
        List<JsonNode> items = new ArrayList<>();
        new TestHttp(port).get("/notifications?userId=" + userId).body().get("items").forEach(items::add);
        return items;
    }

    @Test
    void deliversExactlyOneNotificationPerUserAfterTheReceiverWasDownForAWhile() throws Exception {
        NotificationServiceApp first = notifications(0);
        int port = first.port();
        first.close(); // down from the start

        UserServiceApp users = users(port);
        Map<String, String> traces = createUsers(users, 10);
        await().atMost(Duration.ofSeconds(30)).until(() -> users.relay().failedAttemptCount() >= 5);
        assertThat(new OutboxStore(users.database()).pendingCount()).isEqualTo(10);

        NotificationServiceApp back = notifications(port);
        await().atMost(Duration.ofSeconds(60)).until(() -> new OutboxStore(users.database()).pendingCount() == 0);
        for (Map.Entry<String, String> user : traces.entrySet()) {
            List<JsonNode> items = notificationsOf(back.port(), user.getKey());
            assertThat(items).as("notifications of %s", user.getKey()).singleElement().satisfies(n -> {
                assertThat(n.get("kind").asText()).isEqualTo("welcome");
                // the relay forwarded the trace of the request that created the user
                assertThat(n.get("traceId").asText()).isEqualTo(user.getValue());
            });
        }
        assertThat(back.store().list(null, 1000)).hasSize(10);
    }

    @Test
    void lostAcknowledgementsCauseRedeliveryThatTheReceiverIgnores() throws Exception {
        NotificationServiceApp receiver = notifications(0);
        UserServiceApp users = users(receiver.port());
        users.relay().close(); // replaced by a relay whose first ack of every event is lost
        HttpDelivery http = new HttpDelivery(URI.create("http://127.0.0.1:" + receiver.port()), Duration.ofSeconds(5));
        Set<String> ackLost = new HashSet<>();
        OutboxRelay lossy = new OutboxRelay(new OutboxStore(users.database()), m -> {
            String failure = http.deliver(m);
            return failure == null && ackLost.add(m.eventId()) ? "ack lost (test)" : failure;
        }, new Backoff(Duration.ofMillis(10), Duration.ofMillis(50), Math::random), Clock.systemUTC(),
                OutboxRelay.Waiter.blocking(), Duration.ofSeconds(3), 10);
        running.add(lossy);
        lossy.start();

        Map<String, String> traces = createUsers(users, 5);
        lossy.wake();
        await().atMost(Duration.ofSeconds(30)).until(() -> new OutboxStore(users.database()).pendingCount() == 0);
        assertThat(lossy.failedAttemptCount()).isGreaterThanOrEqualTo(5);
        assertThat(receiver.store().processedEventCount()).isEqualTo(5);
        for (String id : traces.keySet()) {
            assertThat(notificationsOf(receiver.port(), id)).hasSize(1);
        }
    }

    @Test
    void aRestartedInstanceOnTheSameDataDirDeliversWhatItsPredecessorLeftPending() throws Exception {
        NotificationServiceApp probe = notifications(0);
        int port = probe.port();
        probe.close();

        UserServiceApp before = users(port);
        Map<String, String> traces = createUsers(before, 5);
        before.close(); // the final flush fails: the receiver is down
        assertThat(before.relay().deliveredCount()).isZero();

        NotificationServiceApp receiver = notifications(port);
        UserServiceApp after = users(port);
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.store().list(null, 100).size() == 5);
        for (String id : traces.keySet()) {
            assertThat(notificationsOf(receiver.port(), id)).hasSize(1);
            assertThat(new TestHttp(after.httpPort()).get("/users/" + id).status()).isEqualTo(200);
        }
    }
}
