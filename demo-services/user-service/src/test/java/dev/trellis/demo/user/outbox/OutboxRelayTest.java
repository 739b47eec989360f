package dev.trellis.demo.user.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.demo.user.store.Database;
import dev.trellis.demo.user.store.OutboxMessage;
import dev.trellis.demo.user.store.OutboxStore;
import dev.trellis.demo.user.store.User;
import dev.trellis.demo.user.store.UserRepository;
import dev.trellis.demo.user.store.UserSchema;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The relay driven pass by pass on a hand-moved clock: no sleeping, no threads. */
class OutboxRelayTest {
    @TempDir
    Path dir;
    Database db;
    MutableClock clock = new MutableClock(1_000_000);
    UserRepository repo;
    OutboxStore store;
    List<String> delivered = new ArrayList<>();
    Map<String, Integer> failuresLeft = new HashMap<>();
    List<OutboxRelay> relays = new ArrayList<>();

    /** Waits are recorded, never slept. */
    static final OutboxRelay.Waiter NO_WAIT = new OutboxRelay.Waiter() {
        @Override
        public void await(long millis) {}

        @Override
        public void signal() {}
    };

    @BeforeEach
    void open() throws Exception {
        db = Database.open(dir, "users", false, UserSchema.MIGRATIONS);
        repo = new UserRepository(db, clock);
        store = new OutboxStore(db);
    }

    @AfterEach
    void close() {
        relays.forEach(OutboxRelay::close);
        db.close();
    }

    OutboxRelay relay() {
        // jitter pinned to its low end: attempt n waits exactly half of min(1s, 100ms * 2^(n-1))
        OutboxRelay relay = new OutboxRelay(store, this::deliver, new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), () -> 0.0),
                clock, NO_WAIT, Duration.ofSeconds(9), 10);
        relays.add(relay);
        return relay;
    }

    String deliver(OutboxMessage m) {
        String label = m.topic() + ":" + m.aggregateId();
        int left = failuresLeft.getOrDefault(label, 0);
        if (left > 0) {
            failuresLeft.put(label, left - 1);
            return "HTTP 503 (test)";
        }
        delivered.add(label);
        return null;
    }

    @Test
    void retriesWithBackoffAndKeepsOrderPerUserWhileOthersProceed() throws Exception {
        User a = repo.create("a", "a@example.com", Map.of());
        repo.update(a.id(), "a2", "a@example.com", 1L, Map.of());
        User b = repo.create("b", "b@example.com", Map.of());
        failuresLeft.put("user.created:" + a.id(), 2);
        OutboxRelay relay = relay();

        // a's creation fails; a's update must wait behind it; b goes through
        long wait = relay.runOnce(false);
        assertThat(delivered).containsExactly("user.created:" + b.id());
        assertThat(wait).isEqualTo(50);

        clock.advance(49);
        assertThat(relay.runOnce(false)).isEqualTo(1);
        assertThat(delivered).hasSize(1);

        clock.advance(1); // second attempt fails, next in 100 ms
        assertThat(relay.runOnce(false)).isEqualTo(100);
        assertThat(delivered).hasSize(1);

        clock.advance(100);
        relay.runOnce(false);
        assertThat(delivered).containsExactly("user.created:" + b.id(), "user.created:" + a.id(), "user.updated:" + a.id());
        assertThat(store.pendingCount()).isZero();
        assertThat(relay.failedAttemptCount()).isEqualTo(2);
        assertThat(relay.deliveredCount()).isEqualTo(3);
        // nothing pending: the relay polls at a third of its lease
        assertThat(relay.runOnce(false)).isEqualTo(3000);
    }

    @Test
    void onlyTheLeaseHolderRelays() throws Exception {
        User a = repo.create("a", "a@example.com", Map.of());
        OutboxRelay first = relay();
        OutboxRelay second = relay();
        failuresLeft.put("user.created:" + a.id(), 1);
        first.runOnce(false); // takes the lease, fails once
        clock.advance(1000);
        second.runOnce(false);
        assertThat(delivered).isEmpty();

        first.close(); // flushes (delivers) and releases the lease
        assertThat(delivered).containsExactly("user.created:" + a.id());
        User b = repo.create("b", "b@example.com", Map.of());
        second.runOnce(false);
        assertThat(delivered).containsExactly("user.created:" + a.id(), "user.created:" + b.id());

        // a crashed holder's lease expires
        User c = repo.create("c", "c@example.com", Map.of());
        OutboxRelay third = relay();
        third.runOnce(false);
        assertThat(delivered).hasSize(2);
        clock.advance(9000);
        third.runOnce(false);
        assertThat(delivered).endsWith("user.created:" + c.id());
    }

    @Test
    void finalFlushStopsAtTheFirstFailureAndLeavesRowsForTheNextStart() throws Exception {
        User a = repo.create("a", "a@example.com", Map.of());
        User b = repo.create("b", "b@example.com", Map.of());
        failuresLeft.put("user.created:" + a.id(), 100);
        relay().close();
        assertThat(delivered).isEmpty();
        assertThat(store.pendingCount()).isEqualTo(2);

        failuresLeft.clear();
        OutboxRelay next = relay();
        clock.advance(60_000);
        next.runOnce(false);
        assertThat(delivered).containsExactly("user.created:" + a.id(), "user.created:" + b.id());
    }

    @Test
    void deliveredRowsArePrunedAfterTheRetention() throws Exception {
        repo.create("a", "a@example.com", Map.of());
        OutboxRelay relay = relay();
        relay.runOnce(false);
        assertThat(store.deliveredCount()).isEqualTo(1);
        clock.advance(OutboxRelay.RETENTION_MILLIS);
        relay.runOnce(false);
        assertThat(store.deliveredCount()).isEqualTo(1); // exactly at the retention: kept
        clock.advance(60_000);
        relay.runOnce(false);
        assertThat(store.deliveredCount()).isZero();
        assertThat(repo.allEvents()).hasSize(1); // the event store keeps everything
    }

    static final class MutableClock extends Clock {
        private long millis;

        MutableClock(long millis) {
            this.millis = millis;
        }

        void advance(long ms) {
            millis += ms;
        }

        @Override
        public long millis() {
            return millis;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
