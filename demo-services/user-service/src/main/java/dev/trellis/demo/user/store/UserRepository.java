package dev.trellis.demo.user.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.trellis.demo.user.web.Json;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Users, stored three ways in one transaction per change: the read model ({@code users}), the event
 * that made the change ({@code events}, the source of truth from which the read model can be rebuilt)
 * and the outbox row that announces it to other services.
 */
public final class UserRepository {
    /** Outbox topic of a creation; the relay delivers it to notification-service. */
    public static final String TOPIC_CREATED = "user.created";
    public static final String TOPIC_UPDATED = "user.updated";

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Database db;
    private final Clock clock;

    public UserRepository(Database db, Clock clock) {
        this.db = db;
        this.clock = clock;
    }

    /** One page of users in id order, and the cursor of the next page (null on the last). */
    public record Page(List<User> items, String next) {}

    public User create(String name, String email, Map<String, String> traceHeaders) throws SQLException {
        Instant now = Instant.ofEpochMilli(clock.millis());
        User user = new User(newId(now.toEpochMilli()), name, email, 1, now, now);
        db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO users (id, name, email, version, created_at, "
                    + "updated_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, user.id());
                ps.setString(2, name);
                ps.setString(3, email);
                ps.setLong(4, 1);
                ps.setLong(5, now.toEpochMilli());
                ps.setLong(6, now.toEpochMilli());
                ps.executeUpdate();
            }
            UserEvent event = new UserEvent(UUID.randomUUID().toString(), user.id(), 1, UserEvent.USER_CREATED,
                    name, email, now);
            appendEvent(c, event);
            OutboxStore.insert(c, event.eventId(), user.id(), TOPIC_CREATED, envelope(TOPIC_CREATED, event),
                    traceHeaders, now.toEpochMilli());
            return null;
        });
        return user;
    }

    /**
     * Changes a user's name and email; with {@code expectedVersion} the change applies only to that
     * version (optimistic concurrency). Empty when there is no such user.
     */
    public Optional<User> update(String id, String name, String email, Long expectedVersion,
                                 Map<String, String> traceHeaders) throws SQLException, ConcurrencyConflictException {
        Instant now = Instant.ofEpochMilli(clock.millis());
        try {
            return db.inTransaction(c -> {
                Optional<User> current = find(c, id);
                if (current.isEmpty()) {
                    return Optional.empty();
                }
                User before = current.get();
                if (expectedVersion != null && expectedVersion != before.version()) {
                    throw new ConflictSignal(new ConcurrencyConflictException(id, expectedVersion, before.version()));
                }
                long version = before.version() + 1;
                try (PreparedStatement ps = c.prepareStatement("UPDATE users SET name = ?, email = ?, version = ?, "
                        + "updated_at = ? WHERE id = ? AND version = ?")) {
                    ps.setString(1, name);
                    ps.setString(2, email);
                    ps.setLong(3, version);
                    ps.setLong(4, now.toEpochMilli());
                    ps.setString(5, id);
                    ps.setLong(6, before.version());
                    if (ps.executeUpdate() != 1) {
                        User latest = find(c, id).orElse(before);
                        throw new ConflictSignal(new ConcurrencyConflictException(id, before.version(), latest.version()));
                    }
                }
                UserEvent event = new UserEvent(UUID.randomUUID().toString(), id, version, UserEvent.USER_UPDATED,
                        name, email, now);
                try {
                    appendEvent(c, event);
                } catch (SQLIntegrityConstraintViolationException e) {
                    // another writer appended this version first
                    throw new ConflictSignal(new ConcurrencyConflictException(id, before.version(), version));
                }
                OutboxStore.insert(c, event.eventId(), id, TOPIC_UPDATED, envelope(TOPIC_UPDATED, event),
                        traceHeaders, now.toEpochMilli());
                return Optional.of(new User(id, name, email, version, before.createdAt(), now));
            });
        } catch (ConflictSignal signal) {
            throw signal.conflict;
        }
    }

    public Optional<User> find(String id) throws SQLException {
        return db.read(c -> find(c, id));
    }

    public Page list(int limit, String after) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, name, email, version, created_at, updated_at "
                    + "FROM users WHERE id > ? ORDER BY id LIMIT ?")) {
                ps.setString(1, after == null ? "" : after);
                ps.setInt(2, limit + 1);
                List<User> users = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        users.add(user(rs));
                    }
                }
                if (users.size() > limit) {
                    List<User> page = users.subList(0, limit);
                    return new Page(List.copyOf(page), page.get(limit - 1).id());
                }
                return new Page(users, null);
            }
        });
    }

    /** The events of one user, oldest first. */
    public List<UserEvent> events(String aggregateId) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT event_id, aggregate_id, version, type, payload, "
                    + "occurred_at FROM events WHERE aggregate_id = ? ORDER BY version")) {
                ps.setString(1, aggregateId);
                return readEvents(ps);
            }
        });
    }

    /** Every event, in the order they were appended. */
    public List<UserEvent> allEvents() throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT event_id, aggregate_id, version, type, payload, "
                    + "occurred_at FROM events ORDER BY seq")) {
                return readEvents(ps);
            }
        });
    }

    /** Every user as the read model holds it, in id order. */
    public List<User> all() throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, name, email, version, created_at, updated_at "
                    + "FROM users ORDER BY id"); ResultSet rs = ps.executeQuery()) {
                List<User> users = new ArrayList<>();
                while (rs.next()) {
                    users.add(user(rs));
                }
                return users;
            }
        });
    }

    /**
     * Rebuilds every user from the event store alone (what the read model would be if it were lost),
     * in id order.
     */
    public List<User> rebuildFromEvents() throws SQLException {
        Map<String, User> users = new LinkedHashMap<>();
        for (UserEvent e : allEvents()) {
            users.put(e.aggregateId(), apply(users.get(e.aggregateId()), e));
        }
        return users.values().stream().sorted(java.util.Comparator.comparing(User::id)).toList();
    }

    /** Folds one event into the state before it (null before a creation). */
    public static User apply(User state, UserEvent e) {
        switch (e.type()) {
            case UserEvent.USER_CREATED -> {
                if (state != null) {
                    throw new IllegalStateException("event " + e.eventId() + ": UserCreated for existing user " + e.aggregateId());
                }
                return new User(e.aggregateId(), e.name(), e.email(), e.version(), e.occurredAt(), e.occurredAt());
            }
            case UserEvent.USER_UPDATED -> {
                if (state == null || e.version() != state.version() + 1) {
                    throw new IllegalStateException("event " + e.eventId() + ": version " + e.version()
                            + " (expected: " + (state == null ? "a UserCreated first" : state.version() + 1) + ")");
                }
                return new User(state.id(), e.name(), e.email(), e.version(), state.createdAt(), e.occurredAt());
            }
            default -> throw new IllegalStateException("event " + e.eventId() + ": unknown type '" + e.type() + "'");
        }
    }

    /** Replaces the read model with what the events say; returns the number of users rebuilt. */
    public int rebuildReadModel() throws SQLException {
        List<User> rebuilt = rebuildFromEvents();
        return db.inTransaction(c -> {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM users")) {
                del.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO users (id, name, email, version, created_at, "
                    + "updated_at) VALUES (?, ?, ?, ?, ?, ?)")) {
                for (User u : rebuilt) {
                    ps.setString(1, u.id());
                    ps.setString(2, u.name());
                    ps.setString(3, u.email());
                    ps.setLong(4, u.version());
                    ps.setLong(5, u.createdAt().toEpochMilli());
                    ps.setLong(6, u.updatedAt().toEpochMilli());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return rebuilt.size();
        });
    }

    private static void appendEvent(Connection c, UserEvent e) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO events (event_id, aggregate_id, version, type, "
                + "payload, occurred_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, e.eventId());
            ps.setString(2, e.aggregateId());
            ps.setLong(3, e.version());
            ps.setString(4, e.type());
            ps.setString(5, json(Map.of("name", e.name(), "email", e.email())));
            ps.setLong(6, e.occurredAt().toEpochMilli());
            ps.executeUpdate();
        }
    }

    private static List<UserEvent> readEvents(PreparedStatement ps) throws SQLException {
        List<UserEvent> events = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                JsonNode payload;
                try {
                    payload = Json.MAPPER.readTree(rs.getString(5));
                } catch (JsonProcessingException ex) {
                    throw new SQLException("event " + rs.getString(1) + ": invalid payload JSON", ex);
                }
                events.add(new UserEvent(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4),
                        payload.path("name").asText(), payload.path("email").asText(),
                        Instant.ofEpochMilli(rs.getLong(6))));
            }
        }
        return events;
    }

    /** The message other services receive: a CloudEvents-like envelope around the user's state after the change. */
    private static String envelope(String topic, UserEvent e) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("id", e.aggregateId());
        data.put("name", e.name());
        data.put("email", e.email());
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put("id", e.eventId());
        envelope.put("type", topic);
        envelope.put("source", "user-service");
        envelope.put("aggregateId", e.aggregateId());
        envelope.put("version", e.version());
        envelope.put("occurredAt", e.occurredAt().toString());
        envelope.put("data", data);
        return json(envelope);
    }

    private static Optional<User> find(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT id, name, email, version, created_at, updated_at FROM users WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(user(rs)) : Optional.empty();
            }
        }
    }

    private static User user(ResultSet rs) throws SQLException {
        return new User(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4),
                Instant.ofEpochMilli(rs.getLong(5)), Instant.ofEpochMilli(rs.getLong(6)));
    }

    private static String json(Object value) {
        try {
            return Json.MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }

    /** A time-ordered UUID (version 7 layout), so that id order is roughly creation order for keyset paging. */
    static String newId(long epochMillis) {
        long msb = (epochMillis << 16) | 0x7000L | (RANDOM.nextInt() & 0x0FFFL);
        long lsb = (RANDOM.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
    }

    /** Carries a conflict out of the transaction lambda (which may throw only SQLException) so that it rolls back. */
    private static final class ConflictSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient ConcurrencyConflictException conflict;

        ConflictSignal(ConcurrencyConflictException conflict) {
            super(conflict.getMessage(), null, false, false);
            this.conflict = conflict;
        }
    }
}
