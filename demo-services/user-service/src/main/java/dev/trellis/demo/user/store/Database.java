package dev.trellis.demo.user.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.Statement;
import java.util.List;
import org.h2.jdbcx.JdbcConnectionPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's embedded H2 database (file mode, in the data directory), with its schema migrated on
 * open.
 */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Database.class);
    private static final int MAX_ATTEMPTS = 5;
    /** How long an instance waits for another one that is applying the same migration. */
    private static final java.time.Duration MIGRATION_WAIT = java.time.Duration.ofSeconds(30);

    /** One schema change, applied once, in version order. */
    public record Migration(int version, String description, List<String> statements) {}

    /** A unit of work run in one transaction. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    private final JdbcConnectionPool pool;
    private final String url;
    private final boolean shared;

    private Database(JdbcConnectionPool pool, String url, boolean shared) {
        this.pool = pool;
        this.url = url;
        this.shared = shared;
    }

    /**
     * Opens (creating if needed) database {@code name} under {@code dataDir} and applies the migrations
     * not applied yet.
     *
     * @param shared let other processes open the same files (H2's auto-server mode: the first process
     *               serves the others over a local TCP port), e.g. two instances of one service on one host
     */
    public static Database open(Path dataDir, String name, boolean shared, List<Migration> migrations)
            throws SQLException {
        try {
            Files.createDirectories(dataDir);
        } catch (java.io.IOException e) {
            throw new SQLException("data dir '" + dataDir + "': cannot create (" + e + ")", e);
        }
        if (shared) {
            // the auto-server's TCP port (no password) is for processes on this host only
            System.setProperty("h2.bindAddress", System.getProperty("h2.bindAddress", "127.0.0.1"));
        }
        // H2's exit hook is off so that it does not close the database under requests still in
        // flight and the outbox relay's final flush; the service closes it itself, last. H2 refuses
        // that next to AUTO_SERVER, so shared mode relies on Termination running the stop before hooks.
        String url = "jdbc:h2:file:" + dataDir.resolve(name).toAbsolutePath()
                + (shared ? ";AUTO_SERVER=TRUE" : ";DB_CLOSE_ON_EXIT=FALSE");
        JdbcConnectionPool pool = JdbcConnectionPool.create(url, "sa", "");
        pool.setMaxConnections(32);
        Database db = new Database(pool, url, shared);
        try {
            db.migrate(migrations);
        } catch (SQLException | RuntimeException e) {
            pool.dispose();
            throw e;
        }
        return db;
    }

    public String url() {
        return url;
    }

    /**
     * Runs {@code work} in one transaction: committed when it returns, rolled back when it throws.
     * In shared mode a transaction whose connection broke before the commit was sent (the process
     * serving the database stopped) is run again once the driver has reconnected: it never committed.
     */
    public <T> T inTransaction(Work<T> work) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            boolean committing = false;
            try (Connection c = pool.getConnection()) {
                c.setAutoCommit(false);
                try {
                    T result = work.run(c);
                    committing = true;
                    c.commit();
                    return result;
                } catch (SQLException | RuntimeException e) {
                    if (!committing) {
                        rollbackQuietly(c, e);
                    }
                    throw e;
                }
            } catch (SQLNonTransientConnectionException e) {
                if (!shared || committing || attempt >= MAX_ATTEMPTS) {
                    throw e;
                }
                pauseBeforeRetry(attempt, e);
            }
        }
    }

    /** Runs a read (autocommit); in shared mode retried like a transaction when the connection broke. */
    public <T> T read(Work<T> work) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try (Connection c = pool.getConnection()) {
                return work.run(c);
            } catch (SQLNonTransientConnectionException e) {
                if (!shared || attempt >= MAX_ATTEMPTS) {
                    throw e;
                }
                pauseBeforeRetry(attempt, e);
            }
        }
    }

    private void pauseBeforeRetry(int attempt, SQLException e) throws SQLException {
        log.info("database {}: connection broke ({}); retrying (attempt {})", url, e.getMessage(), attempt + 1);
        try {
            Thread.sleep(100L * attempt);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw e;
        }
    }

    private static void rollbackQuietly(Connection c, Exception cause) {
        try {
            c.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /** The highest applied migration version (0 for none). */
    public int schemaVersion() throws SQLException {
        return read(c -> {
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }

    private void migrate(List<Migration> migrations) throws SQLException {
        try {
            read(c -> {
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INT PRIMARY KEY, "
                            + "description VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)");
                }
                return null;
            });
        } catch (SQLException e) {
            if (!shared) {
                throw e;
            }
            // created by another instance at the same moment: the read below fails if it really is not there
        }
        int current = schemaVersion();
        int previous = 0;
        for (Migration m : migrations) {
            if (m.version() <= previous) {
                throw new IllegalArgumentException("migration " + m.version() + ": out of order (expected: > " + previous + ")");
            }
            previous = m.version();
            if (m.version() <= current) {
                continue;
            }
            try {
                apply(m);
            } catch (SQLException e) {
                // another instance sharing the database may be applying the same migration (DDL commits at
                // once in H2, so no transaction keeps the two apart): its version row settles it
                if (!shared || !awaitApplied(m.version(), e)) {
                    throw e;
                }
                log.info("database {}: migration {} ({}) applied by another process", url, m.version(), m.description());
                continue;
            }
            log.info("database {}: applied migration {} ({})", url, m.version(), m.description());
        }
    }

    /** True once another process has recorded migration {@code version} (bounded by {@link #MIGRATION_WAIT}). */
    private boolean awaitApplied(int version, SQLException cause) throws SQLException {
        long deadline = System.nanoTime() + MIGRATION_WAIT.toNanos();
        while (true) {
            if (schemaVersion() >= version) {
                return true;
            }
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw cause;
            }
        }
    }

    private void apply(Migration m) throws SQLException {
        inTransaction(c -> {
            try (Statement s = c.createStatement()) {
                for (String sql : m.statements()) {
                    s.execute(sql);
                }
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)")) {
                ps.setInt(1, m.version());
                ps.setString(2, m.description());
                ps.setLong(3, System.currentTimeMillis());
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Override
    public void close() {
        if (shared) {
            // Other processes may be using the files through this one: let H2 hand over instead.
            pool.dispose();
            return;
        }
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            // Closes the files cleanly now, instead of at exit, so a successor can open them at once.
            s.execute("SHUTDOWN");
        } catch (SQLException e) {
            log.warn("database {}: shutdown failed: {}", url, e.toString());
        } finally {
            pool.dispose();
        }
    }
}
