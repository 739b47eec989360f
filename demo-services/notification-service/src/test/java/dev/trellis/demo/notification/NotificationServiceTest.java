package dev.trellis.demo.notification;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.demo.notification.TestHttp.Reply;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NotificationServiceTest {
    @TempDir
    Path dir;
    NotificationServiceApp app;
    TestHttp http;

    @BeforeEach
    void start() throws Exception {
        app = NotificationServiceApp.start(NotificationServiceConfig.defaults(dir), Clock.systemUTC());
        http = new TestHttp(app.port());
    }

    @AfterEach
    void stop() {
        app.close();
    }

    static String created(String eventId, String userId, String name) {
        return TestHttp.json(Map.of("id", eventId, "type", "user.created", "aggregateId", userId, "version", 1,
                "data", Map.of("id", userId, "name", name, "email", name.toLowerCase() + "@example.com")));
    }

    List<JsonNode> notificationsOf(String userId) throws Exception {
        List<JsonNode> items = new ArrayList<>();
        http.get("/notifications?userId=" + userId).body().get("items").forEach(items::add);
        return items;
    }

    @Test
    void duplicateEventsAreAcknowledgedAndIgnored() throws Exception {
        Reply first = http.post("/events", created("e-1", "u-1", "Ada"));
        assertThat(first.status()).isEqualTo(202);
        assertThat(first.body().get("status").asText()).isEqualTo("accepted");
        Reply again = http.post("/events", created("e-1", "u-1", "Ada"));
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body().get("status").asText()).isEqualTo("duplicate");

        assertThat(notificationsOf("u-1")).singleElement().satisfies(n -> {
            assertThat(n.get("kind").asText()).isEqualTo("welcome");
            assertThat(n.get("message").asText()).isEqualTo("Welcome, Ada!");
            assertThat(n.get("recipient").asText()).isEqualTo("ada@example.com");
            assertThat(n.get("eventId").asText()).isEqualTo("e-1");
        });
        assertThat(notificationsOf("someone-else")).isEmpty();
    }

    @Test
    void oneWelcomePerUserAndOtherEventTypesAreOnlyAcknowledged() throws Exception {
        assertThat(http.post("/events", created("e-1", "u-1", "Ada")).status()).isEqualTo(202);
        assertThat(http.post("/events", created("e-2", "u-1", "Ada")).status()).isEqualTo(202);
        Reply update = http.post("/events", TestHttp.json(Map.of("id", "e-3", "type", "user.updated",
                "data", Map.of("id", "u-1", "name", "Ada L", "email", "ada@example.com"))));
        assertThat(update.status()).isEqualTo(202);
        assertThat(http.post("/events", created("e-4", "u-2", "Bob")).status()).isEqualTo(202);

        assertThat(notificationsOf("u-1")).hasSize(1);
        assertThat(notificationsOf("u-2")).hasSize(1);
        assertThat(http.get("/notifications").body().get("items")).hasSize(2);
        assertThat(app.store().processedEventCount()).isEqualTo(4);
    }

    @Test
    void concurrentDuplicatesMakeOneNotification() throws Exception {
        int senders = 8;
        ExecutorService pool = Executors.newFixedThreadPool(senders);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> statuses = new ArrayList<>();
        for (int i = 0; i < senders; i++) {
            statuses.add(pool.submit(() -> {
                go.await();
                return http.post("/events", created("e-race", "u-race", "Race")).status();
            }));
        }
        go.countDown();
        List<Integer> seen = new ArrayList<>();
        for (Future<Integer> f : statuses) {
            seen.add(f.get());
        }
        pool.shutdown();
        assertThat(seen).containsOnly(202, 200).filteredOn(s -> s == 202).hasSize(1);
        assertThat(notificationsOf("u-race")).hasSize(1);
    }

    @Test
    void rejectsInvalidEventsWithFieldErrors() throws Exception {
        Reply missing = http.post("/events", "{\"type\":\"user.created\",\"data\":{}}");
        assertThat(missing.status()).isEqualTo(400);
        List<String> fields = new ArrayList<>();
        missing.body().get("fields").forEach(f -> fields.add(f.get("field").asText() + ": " + f.get("message").asText()));
        assertThat(fields).containsExactly("id: missing (expected: a non-empty string)",
                "data.id: required for user.created (expected: the user's id)");
        assertThat(http.post("/events", "not json").status()).isEqualTo(400);
        assertThat(http.post("/events", "{\"id\":\"x\"}").status()).isEqualTo(400);
        assertThat(http.get("/notifications?limit=0").status()).isEqualTo(400);
        assertThat(app.store().processedEventCount()).isZero();
    }

    @Test
    void recordsTheTraceOfTheDeliveryAndEchoesTheRequestId() throws Exception {
        Reply r = http.send("POST", "/events", created("e-t", "u-t", "Tracey"), Map.of(
                "x-request-id", "req-7", "x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124", "x-b3-spanid", "a2fb4a1d1a96d312"));
        assertThat(r.header("x-request-id")).isEqualTo("req-7");
        assertThat(notificationsOf("u-t")).singleElement().satisfies(n -> {
            assertThat(n.get("requestId").asText()).isEqualTo("req-7");
            assertThat(n.get("traceId").asText()).isEqualTo("463ac35c9f6413ad48485a3953bb6124");
        });
    }

    @Test
    void idempotencySurvivesARestartOnTheSameDataDir() throws Exception {
        assertThat(http.post("/events", created("e-1", "u-1", "Ada")).status()).isEqualTo(202);
        app.close();
        app = NotificationServiceApp.start(NotificationServiceConfig.defaults(dir), Clock.systemUTC());
        http = new TestHttp(app.port());
        assertThat(http.get("/ready").status()).isEqualTo(200);
        assertThat(http.post("/events", created("e-1", "u-1", "Ada")).status()).isEqualTo(200);
        assertThat(notificationsOf("u-1")).hasSize(1);
    }
}
