package dev.trellis.demo.notification;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo notification service (issue 9): receives user events idempotently and records one welcome
 * notification per created user. It knows nothing of the mesh.
 */
@Command(name = "notification-service", mixinStandardHelpOptions = true, sortOptions = false,
        description = "The demo notification service: POST /events, GET /notifications?userId= on --port.")
public final class NotificationServiceMain implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(NotificationServiceMain.class);

    @Option(names = "--port", defaultValue = "${env:PORT:-8082}", description = "HTTP port (env PORT; default ${DEFAULT-VALUE}; 0 = any)")
    int port;

    @Option(names = "--host", defaultValue = "${env:HOST:-0.0.0.0}", description = "address to bind (env HOST; default ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--data-dir", defaultValue = "${env:DATA_DIR:-data/notification-service}", description = "database directory (env DATA_DIR; default ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--shared-db", defaultValue = "${env:SHARED_DB:-false}",
            description = "let several instances on this host share --data-dir (H2 auto-server mode; env SHARED_DB)")
    boolean sharedDb;

    @Option(names = "--drain-delay", defaultValue = "${env:DRAIN_DELAY:-0s}", converter = DurationConverter.class,
            description = "on SIGTERM, keep serving this long with /ready = 503 before closing (env DRAIN_DELAY; default ${DEFAULT-VALUE})")
    Duration drainDelay;

    @Option(names = "--shutdown-timeout", defaultValue = "10s", converter = DurationConverter.class, description = "bound on finishing in-flight requests (default ${DEFAULT-VALUE})")
    Duration shutdownTimeout;

    @Option(names = "--threads", defaultValue = "16", description = "request threads (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--ports-file", description = "write {\"http\":N} here once ready (useful with port 0)")
    Path portsFile;

    @Override
    public Integer call() throws Exception {
        NotificationServiceConfig config;
        try {
            config = new NotificationServiceConfig(host, port, dataDir, sharedDb, drainDelay, shutdownTimeout, threads, portsFile);
        } catch (IllegalArgumentException e) {
            System.err.println("notification-service: " + e.getMessage());
            return 2;
        }
        NotificationServiceApp app;
        try {
            app = NotificationServiceApp.start(config, Clock.systemUTC());
        } catch (Exception e) {
            log.error("notification-service failed to start: {}", e.toString(), e);
            return 1;
        }
        Termination.onSignal(app::close);
        // The process ends when a signal's handler (or a shutdown hook) has stopped the app and exits
        // with 128 + the signal number; returning from here would race it with exit code 0.
        new CountDownLatch(1).await();
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new NotificationServiceMain()).execute(args));
    }
}
