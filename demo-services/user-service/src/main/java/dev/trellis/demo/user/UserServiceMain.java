package dev.trellis.demo.user;

import java.net.URI;
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
 * The demo user service (issue 9): REST and gRPC over one embedded database, with an outbox relay
 * to notification-service. It knows nothing of the mesh; under Trellis it is started by
 * {@code trellis run}, which sets {@code TRELLIS_UPSTREAM_NOTIFICATION_SERVICE_URL}.
 */
@Command(name = "user-service", mixinStandardHelpOptions = true, sortOptions = false,
        description = "The demo user service: REST on --port, gRPC on --grpc-port, data in --data-dir.")
public final class UserServiceMain implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(UserServiceMain.class);

    @Option(names = "--port", defaultValue = "${env:PORT:-8080}", description = "REST port (env PORT; default ${DEFAULT-VALUE}; 0 = any)")
    int port;

    @Option(names = "--grpc-port", defaultValue = "${env:GRPC_PORT:-9090}", description = "gRPC port (env GRPC_PORT; default ${DEFAULT-VALUE}; 0 = any)")
    int grpcPort;

    @Option(names = "--host", defaultValue = "${env:HOST:-0.0.0.0}", description = "address to bind (env HOST; default ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--data-dir", defaultValue = "${env:DATA_DIR:-data/user-service}", description = "database directory (env DATA_DIR; default ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--notification-url", defaultValue = "${env:TRELLIS_UPSTREAM_NOTIFICATION_SERVICE_URL}",
            description = "base URL of notification-service (env TRELLIS_UPSTREAM_NOTIFICATION_SERVICE_URL); without it events wait in the outbox")
    String notificationUrl;

    @Option(names = "--shared-db", defaultValue = "${env:SHARED_DB:-false}",
            description = "let several instances on this host share --data-dir (H2 auto-server mode; env SHARED_DB)")
    boolean sharedDb;

    @Option(names = "--cache-ttl", defaultValue = "30s", converter = DurationConverter.class, description = "user cache entry lifetime (default ${DEFAULT-VALUE})")
    Duration cacheTtl;

    @Option(names = "--cache-size", defaultValue = "10000", description = "user cache entries (default ${DEFAULT-VALUE})")
    long cacheSize;

    @Option(names = "--retry-base", defaultValue = "100ms", converter = DurationConverter.class, description = "outbox retry backoff base (default ${DEFAULT-VALUE})")
    Duration retryBase;

    @Option(names = "--retry-max", defaultValue = "10s", converter = DurationConverter.class, description = "outbox retry backoff cap (default ${DEFAULT-VALUE})")
    Duration retryMax;

    @Option(names = "--delivery-timeout", defaultValue = "5s", converter = DurationConverter.class, description = "timeout of one event delivery (default ${DEFAULT-VALUE})")
    Duration deliveryTimeout;

    @Option(names = "--drain-delay", defaultValue = "${env:DRAIN_DELAY:-0s}", converter = DurationConverter.class,
            description = "on SIGTERM, keep serving this long with /ready = 503 before closing (env DRAIN_DELAY; default ${DEFAULT-VALUE})")
    Duration drainDelay;

    @Option(names = "--shutdown-timeout", defaultValue = "10s", converter = DurationConverter.class, description = "bound on finishing in-flight requests (default ${DEFAULT-VALUE})")
    Duration shutdownTimeout;

    @Option(names = "--threads", defaultValue = "32", description = "request threads per server (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--ports-file", description = "write {\"http\":N,\"grpc\":M} here once ready (useful with port 0)")
    Path portsFile;

    @Override
    public Integer call() throws Exception {
        UserServiceConfig config;
        try {
            URI url = notificationUrl == null || notificationUrl.isBlank() ? null : URI.create(notificationUrl.trim());
            if (url != null && (url.getHost() == null || !(url.getScheme().equals("http") || url.getScheme().equals("https")))) {
                throw new IllegalArgumentException("notification-service URL: '" + notificationUrl + "' (expected: http://host:port)");
            }
            config = new UserServiceConfig(host, port, grpcPort, dataDir, sharedDb, url, cacheTtl, cacheSize,
                    retryBase, retryMax, deliveryTimeout, Duration.ofSeconds(10), drainDelay, shutdownTimeout, threads, portsFile);
        } catch (IllegalArgumentException e) {
            System.err.println("user-service: " + e.getMessage());
            return 2;
        }
        UserServiceApp app;
        try {
            app = UserServiceApp.start(config, Clock.systemUTC());
        } catch (Exception e) {
            log.error("user-service failed to start: {}", e.toString(), e);
            return 1;
        }
        Termination.onSignal(app::close);
        // The process ends when a signal's handler (or a shutdown hook) has stopped the app and exits
        // with 128 + the signal number; returning from here would race it with exit code 0.
        new CountDownLatch(1).await();
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new UserServiceMain()).execute(args));
    }
}
