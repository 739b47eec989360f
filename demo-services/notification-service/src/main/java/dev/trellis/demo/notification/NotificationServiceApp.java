package dev.trellis.demo.notification;

import dev.trellis.demo.notification.store.Database;
import dev.trellis.demo.notification.store.NotificationStore;
import dev.trellis.demo.notification.web.HttpService;
import dev.trellis.demo.notification.web.NotificationHttpApi;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running notification-service: database (migrated) and HTTP server; {@link #close()} shuts down gracefully. */
public final class NotificationServiceApp implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NotificationServiceApp.class);

    private final NotificationServiceConfig config;
    private final Database db;
    private final NotificationStore store;
    private final HttpService http;
    private final AtomicBoolean closed = new AtomicBoolean();

    private NotificationServiceApp(NotificationServiceConfig config, Database db, NotificationStore store, HttpService http) {
        this.config = config;
        this.db = db;
        this.store = store;
        this.http = http;
    }

    public static NotificationServiceApp start(NotificationServiceConfig config, Clock clock) throws Exception {
        Database db = Database.open(config.dataDir(), "notifications", config.sharedDb(), NotificationStore.MIGRATIONS);
        try {
            NotificationStore store = new NotificationStore(db, clock);
            AtomicBoolean ready = new AtomicBoolean();
            HttpService http = HttpService.start("notification-service", config.host(), config.port(), config.threads(),
                    new NotificationHttpApi(store).router(), ready::get);
            NotificationServiceApp app = new NotificationServiceApp(config, db, store, http);
            ready.set(true);
            app.writePortsFile();
            log.info("notification-service ready: http port {}, data dir {}", http.port(), config.dataDir().toAbsolutePath());
            return app;
        } catch (Exception | Error e) {
            db.close();
            throw e;
        }
    }

    public int port() {
        return http.port();
    }

    public NotificationStore store() {
        return store;
    }

    private void writePortsFile() throws IOException {
        Path file = config.portsFile();
        if (file == null) {
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, "{\"http\":" + port() + "}\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** /ready turns 503, the drain delay passes, in-flight requests finish (bounded), the database closes. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        log.info("notification-service shutting down");
        http.beginDrain();
        if (!config.drainDelay().isZero()) {
            try {
                Thread.sleep(config.drainDelay().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        http.stop(config.shutdownTimeout());
        db.close();
        log.info("notification-service stopped in {} ms", (System.nanoTime() - start) / 1_000_000);
    }
}
