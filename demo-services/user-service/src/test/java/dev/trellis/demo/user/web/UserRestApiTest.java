package dev.trellis.demo.user.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.demo.user.TestHttp;
import dev.trellis.demo.user.TestHttp.Reply;
import dev.trellis.demo.user.UserServiceApp;
import dev.trellis.demo.user.UserServiceConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UserRestApiTest {
    @TempDir
    Path dir;
    UserServiceApp app;
    TestHttp http;

    @BeforeEach
    void start() throws Exception {
        app = UserServiceApp.start(UserServiceConfig.defaults(dir), Clock.systemUTC());
        http = new TestHttp(app.httpPort());
    }

    @AfterEach
    void stop() {
        app.close();
    }

    private String create(String name, String email) throws Exception {
        Reply r = http.post("/users", TestHttp.json(Map.of("name", name, "email", email)));
        assertThat(r.status()).as(r.raw().body()).isEqualTo(201);
        return r.body().get("id").asText();
    }

    @Test
    void createReportsEveryInvalidField() throws Exception {
        Reply r = http.post("/users", "{\"name\":\"  \",\"email\":\"not-an-address\"}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body().get("error").asText()).isEqualTo("validation failed");
        assertThat(fields(r)).containsExactly(
                "name: required (expected: 1 to 100 characters)",
                "email: 'not-an-address' (expected: an address like name@example.com)");

        Reply missing = http.post("/users", "{}");
        assertThat(missing.status()).isEqualTo(400);
        assertThat(fields(missing)).hasSize(2).allMatch(f -> f.contains("required"));

        Reply tooLong = http.post("/users", TestHttp.json(Map.of("name", "x".repeat(101), "email", "a@b.co")));
        assertThat(fields(tooLong)).containsExactly("name: 101 characters (expected: at most 100)");

        Reply wrongType = http.post("/users", "{\"name\":5,\"email\":\"a@b.co\"}");
        assertThat(wrongType.status()).isEqualTo(400);
        assertThat(fields(wrongType)).containsExactly("name: number (expected: a string)");

        Reply notJson = http.post("/users", "{\"name\":");
        assertThat(notJson.status()).isEqualTo(400);
        assertThat(notJson.body().get("error").asText()).startsWith("body: invalid JSON");

        Reply array = http.post("/users", "[]");
        assertThat(array.status()).isEqualTo(400);
        assertThat(array.body().get("error").asText()).isEqualTo("body: array (expected: a JSON object)");

        assertThat(http.get("/users").body().get("items")).isEmpty();
    }

    @Test
    void createThenGetAndMissingIs404() throws Exception {
        Reply created = http.post("/users", "{\"name\":\" Ada Lovelace \",\"email\":\"ada@example.com\"}");
        assertThat(created.status()).isEqualTo(201);
        String id = created.body().get("id").asText();
        assertThat(created.header("Location")).isEqualTo("/users/" + id);
        assertThat(created.body().get("name").asText()).isEqualTo("Ada Lovelace");
        assertThat(created.body().get("version").asLong()).isEqualTo(1);

        Reply got = http.get("/users/" + id);
        assertThat(got.status()).isEqualTo(200);
        assertThat(got.body()).isEqualTo(created.body());

        Reply missing = http.get("/users/nobody");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.body().get("error").asText()).isEqualTo("user 'nobody' not found");
    }

    @Test
    void listsInKeysetPages() throws Exception {
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            created.add(create("user " + i, "u" + i + "@example.com"));
        }
        List<String> seen = new ArrayList<>();
        List<Integer> pageSizes = new ArrayList<>();
        String after = null;
        do {
            Reply page = http.get("/users?limit=3" + (after == null ? "" : "&after=" + after));
            assertThat(page.status()).isEqualTo(200);
            JsonNode items = page.body().get("items");
            pageSizes.add(items.size());
            items.forEach(u -> seen.add(u.get("id").asText()));
            after = page.body().get("next").isNull() ? null : page.body().get("next").asText();
        } while (after != null);

        assertThat(pageSizes).containsExactly(3, 3, 1);
        assertThat(seen).containsExactlyInAnyOrderElementsOf(created).isSorted().doesNotHaveDuplicates();
        // ids are time-ordered, so id order is creation order here
        assertThat(seen).containsExactlyElementsOf(created.stream().sorted().toList());

        // a user created after a page was read shows up on a later page, nothing shifts
        Reply first = http.get("/users?limit=2");
        String cursor = first.body().get("next").asText();
        String late = create("late", "late@example.com");
        List<String> rest = StreamSupport.stream(http.get("/users?limit=100&after=" + cursor).body().get("items").spliterator(), false)
                .map(u -> u.get("id").asText()).toList();
        assertThat(rest).hasSize(6).contains(late);
        assertThat(http.get("/users").body().get("items")).hasSize(8);
    }

    @Test
    void rejectsBadPageSizes() throws Exception {
        for (String limit : List.of("0", "101", "abc", "-1")) {
            Reply r = http.get("/users?limit=" + limit);
            assertThat(r.status()).as(limit).isEqualTo(400);
            assertThat(fields(r)).containsExactly("limit: '" + limit + "' (expected: an integer from 1 to 100)");
        }
    }

    @Test
    void cacheAsideIsInvalidatedByWrites() throws Exception {
        String id = create("Grace", "grace@example.com");
        Reply first = http.get("/users/" + id);
        Reply second = http.get("/users/" + id);
        assertThat(first.header("x-cache")).isEqualTo("miss");
        assertThat(second.header("x-cache")).isEqualTo("hit");
        assertThat(second.body().get("name").asText()).isEqualTo("Grace");

        Reply updated = http.send("PUT", "/users/" + id, "{\"name\":\"Grace Hopper\",\"email\":\"grace@navy.mil\",\"version\":1}", Map.of());
        assertThat(updated.status()).isEqualTo(200);
        assertThat(updated.body().get("version").asLong()).isEqualTo(2);

        Reply after = http.get("/users/" + id);
        assertThat(after.header("x-cache")).isEqualTo("miss");
        assertThat(after.body().get("name").asText()).isEqualTo("Grace Hopper");
        assertThat(after.body().get("email").asText()).isEqualTo("grace@navy.mil");
        assertThat(http.get("/users/" + id).header("x-cache")).isEqualTo("hit");
        assertThat(app.users().cacheStats().hitCount()).isEqualTo(2);

        // misses are not cached: a 404 does not hide a user that appears later
        assertThat(http.get("/users/later").status()).isEqualTo(404);
        assertThat(app.users().cacheStats().missCount()).isEqualTo(3);
    }

    @Test
    void updatesUseOptimisticConcurrency() throws Exception {
        String id = create("Linus", "linus@example.com");
        String body = "{\"name\":\"Linus T\",\"email\":\"linus@example.com\",\"version\":1}";
        assertThat(http.send("PUT", "/users/" + id, body, Map.of()).status()).isEqualTo(200);
        Reply stale = http.send("PUT", "/users/" + id, body, Map.of());
        assertThat(stale.status()).isEqualTo(409);
        assertThat(stale.body().get("error").asText()).isEqualTo("user '" + id + "': version 1 (expected: the current version 2)");
        assertThat(http.send("PUT", "/users/nobody", body, Map.of()).status()).isEqualTo(404);
        Reply invalid = http.send("PUT", "/users/" + id, "{\"name\":\"x\",\"email\":\"bad\"}", Map.of());
        assertThat(invalid.status()).isEqualTo(400);

        Reply events = http.get("/users/" + id + "/events");
        assertThat(events.body().get("items")).extracting(e -> e.get("type").asText() + "@" + e.get("version").asLong())
                .containsExactly("UserCreated@1", "UserUpdated@2");
    }

    @Test
    void healthReadyRoutingAndRequestIds() throws Exception {
        assertThat(http.get("/health").status()).isEqualTo(200);
        Reply ready = http.get("/ready");
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.body().get("status").asText()).isEqualTo("READY");
        assertThat(http.send("DELETE", "/users", null, Map.of()).status()).isEqualTo(405);
        assertThat(http.get("/nothing-here").status()).isEqualTo(404);

        Reply echoed = http.send("GET", "/users", null, Map.of("x-request-id", "req-42"));
        assertThat(echoed.header("x-request-id")).isEqualTo("req-42");
        assertThat(http.get("/users").header("x-request-id")).hasSize(36);
    }

    private static List<String> fields(Reply r) {
        List<String> out = new ArrayList<>();
        r.body().path("fields").forEach(f -> out.add(f.get("field").asText() + ": " + f.get("message").asText()));
        return out;
    }
}
