package dev.trellis.demo.user;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/** Everything user-service can be told at start; see {@link UserServiceMain} for the flags and env vars. */
public record UserServiceConfig(String host, int httpPort, int grpcPort, Path dataDir, boolean sharedDb,
                                URI notificationUrl, Duration cacheTtl, long cacheSize, Duration backoffBase,
                                Duration backoffMax, Duration deliveryTimeout, Duration relayLease,
                                Duration drainDelay, Duration shutdownTimeout, int httpThreads, Path portsFile) {

    public UserServiceConfig {
        checkPort("port", httpPort);
        checkPort("grpc port", grpcPort);
        if (dataDir == null) {
            throw new IllegalArgumentException("data dir: missing (expected: a directory path)");
        }
        if (cacheSize < 0) {
            throw new IllegalArgumentException("cache size: " + cacheSize + " (expected: >= 0)");
        }
        checkPositive("cache ttl", cacheTtl);
        checkPositive("retry base", backoffBase);
        if (backoffMax.compareTo(backoffBase) < 0) {
            throw new IllegalArgumentException("retry max: " + backoffMax.toMillis() + "ms (expected: >= retry base "
                    + backoffBase.toMillis() + "ms)");
        }
        checkPositive("delivery timeout", deliveryTimeout);
        checkPositive("relay lease", relayLease);
        checkPositive("shutdown timeout", shutdownTimeout);
        if (drainDelay.isNegative()) {
            throw new IllegalArgumentException("drain delay: " + drainDelay.toMillis() + "ms (expected: >= 0)");
        }
        if (httpThreads < 1) {
            throw new IllegalArgumentException("http threads: " + httpThreads + " (expected: >= 1)");
        }
    }

    /** Defaults for everything but the data dir; ports 0 (any free port). */
    public static UserServiceConfig defaults(Path dataDir) {
        return new UserServiceConfig("127.0.0.1", 0, 0, dataDir, false, null, Duration.ofSeconds(30), 10_000,
                Duration.ofMillis(100), Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofSeconds(10),
                Duration.ZERO, Duration.ofSeconds(10), 32, null);
    }

    public UserServiceConfig withPorts(int http, int grpc) {
        return new UserServiceConfig(host, http, grpc, dataDir, sharedDb, notificationUrl, cacheTtl, cacheSize,
                backoffBase, backoffMax, deliveryTimeout, relayLease, drainDelay, shutdownTimeout, httpThreads, portsFile);
    }

    public UserServiceConfig withNotificationUrl(URI url) {
        return new UserServiceConfig(host, httpPort, grpcPort, dataDir, sharedDb, url, cacheTtl, cacheSize,
                backoffBase, backoffMax, deliveryTimeout, relayLease, drainDelay, shutdownTimeout, httpThreads, portsFile);
    }

    public UserServiceConfig withBackoff(Duration base, Duration max) {
        return new UserServiceConfig(host, httpPort, grpcPort, dataDir, sharedDb, notificationUrl, cacheTtl, cacheSize,
                base, max, deliveryTimeout, relayLease, drainDelay, shutdownTimeout, httpThreads, portsFile);
    }

    private static void checkPort(String what, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(what + ": " + port + " (expected: 0 to 65535)");
        }
    }

    private static void checkPositive(String what, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + ": " + d.toMillis() + "ms (expected: > 0)");
        }
    }
}
