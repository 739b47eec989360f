package dev.trellis.demo.user.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.trellis.demo.user.web.Json;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The outbox table: rows are added in the transaction of the change they announce, and read back by
 * the relay one user at a time in order (only the oldest undelivered row of each user is ever due).
 */
public final class OutboxStore {
    private static final TypeReference<Map<String, String>> HEADERS = new TypeReference<>() {};

    private final Database db;

    public OutboxStore(Database db) {
        this.db = db;
    }

    /** Adds a row inside the caller's transaction. */
    static void insert(Connection c, String eventId, String aggregateId, String topic, String payload,
                       Map<String, String> headers, long now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (event_id, aggregate_id, topic, payload, "
                + "headers, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)")) {
            ps.setString(1, eventId);
            ps.setString(2, aggregateId);
            ps.setString(3, topic);
            ps.setString(4, payload);
            ps.setString(5, toJson(headers));
            ps.setLong(6, now);
            ps.setLong(7, now);
            ps.executeUpdate();
        }
    }

    /**
     * The rows that may be sent now: for each user its oldest undelivered row, if that row's next
     * attempt is due at {@code nowMillis} (or always, when {@code ignoreSchedule}); oldest first.
     */
    public List<OutboxMessage> due(long nowMillis, boolean ignoreSchedule, int limit) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT o.seq, o.event_id, o.aggregate_id, o.topic, "
                    + "o.payload, o.headers, o.attempts FROM outbox o WHERE o.delivered_at IS NULL "
                    + "AND (? OR o.next_attempt_at <= ?) AND NOT EXISTS (SELECT 1 FROM outbox p "
                    + "WHERE p.aggregate_id = o.aggregate_id AND p.delivered_at IS NULL AND p.seq < o.seq) "
                    + "ORDER BY o.seq LIMIT ?")) {
                ps.setBoolean(1, ignoreSchedule);
                ps.setLong(2, nowMillis);
                ps.setInt(3, limit);
                List<OutboxMessage> due = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        due.add(new OutboxMessage(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), fromJson(rs.getString(6)), rs.getInt(7)));
                    }
                }
                return due;
            }
        });
    }

    /** When the next sendable row (the oldest undelivered row of some user) is due, if there is one. */
    public OptionalLong nextDueAt() throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT MIN(o.next_attempt_at) FROM outbox o WHERE o.delivered_at IS NULL AND NOT EXISTS "
                            + "(SELECT 1 FROM outbox p WHERE p.aggregate_id = o.aggregate_id AND p.delivered_at IS NULL "
                            + "AND p.seq < o.seq)");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                long v = rs.getLong(1);
                return rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(v);
            }
        });
    }

    public void markDelivered(long seq, long nowMillis) throws SQLException {
        db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE seq = ?")) {
                ps.setLong(1, nowMillis);
                ps.setLong(2, seq);
                ps.executeUpdate();
            }
            return null;
        });
    }

    public void markFailed(long seq, int attempts, long nextAttemptAt, String error) throws SQLException {
        db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE seq = ?")) {
                ps.setInt(1, attempts);
                ps.setLong(2, nextAttemptAt);
                ps.setString(3, error.length() > 500 ? error.substring(0, 500) : error);
                ps.setLong(4, seq);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Deletes rows delivered before {@code beforeMillis}; returns how many. */
    public int pruneDelivered(long beforeMillis) throws SQLException {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?")) {
                ps.setLong(1, beforeMillis);
                return ps.executeUpdate();
            }
        });
    }

    public long pendingCount() throws SQLException {
        return count("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL");
    }

    public long deliveredCount() throws SQLException {
        return count("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL");
    }

    /**
     * Takes or renews the relay lease {@code name} for {@code owner} until {@code expiresAt}; false
     * while another owner holds an unexpired lease.
     */
    public boolean tryLease(String name, String owner, long nowMillis, long expiresAt) throws SQLException {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE relay_lease SET owner = ?, expires_at = ? "
                    + "WHERE name = ? AND (owner = ? OR expires_at <= ?)")) {
                ps.setString(1, owner);
                ps.setLong(2, expiresAt);
                ps.setString(3, name);
                ps.setString(4, owner);
                ps.setLong(5, nowMillis);
                if (ps.executeUpdate() == 1) {
                    return true;
                }
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO relay_lease (name, owner, expires_at) VALUES (?, ?, ?)")) {
                ps.setString(1, name);
                ps.setString(2, owner);
                ps.setLong(3, expiresAt);
                ps.executeUpdate();
                return true;
            } catch (SQLIntegrityConstraintViolationException e) {
                return false;
            }
        });
    }

    public void releaseLease(String name, String owner) throws SQLException {
        db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE relay_lease SET expires_at = 0 WHERE name = ? AND owner = ?")) {
                ps.setString(1, name);
                ps.setString(2, owner);
                ps.executeUpdate();
            }
            return null;
        });
    }

    private long count(String sql) throws SQLException {
        return db.read(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    private static String toJson(Map<String, String> headers) {
        try {
            return Json.MAPPER.writeValueAsString(headers);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("headers: cannot render as JSON", e);
        }
    }

    private static Map<String, String> fromJson(String json) {
        try {
            return Json.MAPPER.readValue(json, HEADERS);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("outbox headers: invalid JSON '" + json + "'", e);
        }
    }
}
