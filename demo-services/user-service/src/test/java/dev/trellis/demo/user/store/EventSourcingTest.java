package dev.trellis.demo.user.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventSourcingTest {
    @TempDir
    Path dir;
    Database db;
    UserRepository repo;

    @BeforeEach
    void open() throws Exception {
        db = Database.open(dir, "users", false, UserSchema.MIGRATIONS);
        repo = new UserRepository(db, Clock.systemUTC());
    }

    @AfterEach
    void close() {
        db.close();
    }

    @Test
    void rebuildingFromEventsGivesTheReadModel() throws Exception {
        List<User> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            created.add(repo.create("user " + i, "u" + i + "@example.com", Map.of()));
        }
        repo.update(created.get(1).id(), "renamed", "r@example.com", 1L, Map.of());
        repo.update(created.get(1).id(), "renamed twice", "r2@example.com", 2L, Map.of());
        repo.update(created.get(3).id(), "three", "three@example.com", null, Map.of());

        List<User> readModel = repo.all();
        assertThat(repo.rebuildFromEvents()).isEqualTo(readModel);
        assertThat(readModel).filteredOn(u -> u.id().equals(created.get(1).id())).singleElement()
                .satisfies(u -> {
                    assertThat(u.version()).isEqualTo(3);
                    assertThat(u.name()).isEqualTo("renamed twice");
                });
        assertThat(repo.events(created.get(1).id())).extracting(UserEvent::type, UserEvent::version).containsExactly(
                org.assertj.core.groups.Tuple.tuple("UserCreated", 1L),
                org.assertj.core.groups.Tuple.tuple("UserUpdated", 2L),
                org.assertj.core.groups.Tuple.tuple("UserUpdated", 3L));

        // lose the read model; the events bring it back exactly
        db.inTransaction(c -> {
            try (Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE users SET name = 'corrupted', version = 99");
                s.executeUpdate("DELETE FROM users WHERE id = '" + created.get(0).id() + "'");
            }
            return null;
        });
        assertThat(repo.all()).isNotEqualTo(readModel);
        assertThat(repo.rebuildReadModel()).isEqualTo(5);
        assertThat(repo.all()).isEqualTo(readModel);
    }

    @Test
    void everyChangeWritesItsEventAndOutboxRowInTheSameTransaction() throws Exception {
        User u = repo.create("a", "a@example.com", Map.of("x-request-id", "r1"));
        repo.update(u.id(), "b", "b@example.com", 1L, Map.of("x-request-id", "r2"));
        assertThatThrownBy(() -> repo.update(u.id(), "c", "c@example.com", 1L, Map.of()))
                .isInstanceOf(ConcurrencyConflictException.class);

        OutboxStore outbox = new OutboxStore(db);
        assertThat(repo.allEvents()).hasSize(2);
        assertThat(outbox.pendingCount()).isEqualTo(2);
        // a user's rows are due one at a time, oldest first
        assertThat(outbox.due(Long.MAX_VALUE, true, 10)).singleElement()
                .satisfies(m -> {
                    assertThat(m.topic()).isEqualTo("user.created");
                    assertThat(m.headers()).containsEntry("x-request-id", "r1");
                    assertThat(m.payload()).contains("\"type\":\"user.created\"").contains("\"email\":\"a@example.com\"");
                });
        assertThat(repo.find(u.id())).get().extracting(User::version).isEqualTo(2L);
    }

    @Test
    void concurrentWritersOfOneVersionCannotBothWin() throws Exception {
        User u = repo.create("race", "race@example.com", Map.of());
        int writers = 6;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            String name = "writer " + i;
            Callable<Boolean> write = () -> {
                go.await();
                try {
                    return repo.update(u.id(), name, "race@example.com", 1L, Map.of()).isPresent();
                } catch (ConcurrencyConflictException e) {
                    return false;
                }
            };
            results.add(pool.submit(write));
        }
        go.countDown();
        int wins = 0;
        for (Future<Boolean> f : results) {
            try {
                wins += f.get() ? 1 : 0;
            } catch (java.util.concurrent.ExecutionException e) {
                // H2 may report a lock timeout or duplicate version as an SQL error: still a loss
                assertThat(e.getCause()).isInstanceOf(java.sql.SQLException.class);
            }
        }
        pool.shutdown();
        assertThat(wins).isEqualTo(1);
        assertThat(repo.events(u.id())).extracting(UserEvent::version).containsExactly(1L, 2L);
        assertThat(repo.rebuildFromEvents()).isEqualTo(repo.all());
    }

    @Test
    void migrationsAreVersionedAndAppliedOnce() throws Exception {
        assertThat(db.schemaVersion()).isEqualTo(2);
        repo.create("kept", "kept@example.com", Map.of());
        db.close();
        db = Database.open(dir, "users", false, UserSchema.MIGRATIONS);
        repo = new UserRepository(db, Clock.systemUTC());
        assertThat(db.schemaVersion()).isEqualTo(2);
        assertThat(repo.all()).extracting(User::name).containsExactly("kept");
    }
}
