package dev.trellis.demo.notification;

import java.nio.file.Path;
import java.time.Duration;

/** Everything notification-service can be told at start; see {@link NotificationServiceMain} for flags and env vars. */
public record NotificationServiceConfig(String host, int port, Path dataDir, boolean sharedDb, Duration drainDelay,
                                        Duration shutdownTimeout, int threads, Path portsFile) {
    public NotificationServiceConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0 to 65535)");
        }
        if (dataDir == null) {
            throw new IllegalArgumentException("data dir: missing (expected: a directory path)");
        }
        if (drainDelay.isNegative()) {
            throw new IllegalArgumentException("drain delay: " + drainDelay.toMillis() + "ms (expected: >= 0)");
        }
        if (shutdownTimeout.isNegative() || shutdownTimeout.isZero()) {
            throw new IllegalArgumentException("shutdown timeout: " + shutdownTimeout.toMillis() + "ms (expected: > 0)");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads: " + threads + " (expected: >= 1)");
        }
    }

    /** Loopback, port 0 (any free port), the given data dir. */
    public static NotificationServiceConfig defaults(Path dataDir) {
        return new NotificationServiceConfig("127.0.0.1", 0, dataDir, false, Duration.ZERO, Duration.ofSeconds(10), 16, null);
    }

    public NotificationServiceConfig withPort(int newPort) {
        return new NotificationServiceConfig(host, newPort, dataDir, sharedDb, drainDelay, shutdownTimeout, threads, portsFile);
    }
}
