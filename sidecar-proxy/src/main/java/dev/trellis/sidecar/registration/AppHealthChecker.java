package dev.trellis.sidecar.registration;

import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.sidecar.internal.DaemonThreads;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes the app behind the sidecar every {@code interval}: {@code GET /health} on
 * {@code 127.0.0.1:<app port>} for HTTP apps (2xx is healthy), a TCP connect for {@code http2},
 * {@code grpc} and {@code tcp} apps. Reports HEALTHY after {@code healthyThreshold} good probes in
 * a row and UNHEALTHY after {@code unhealthyThreshold} bad ones, only when the status changes.
 * Probes run on the checker's own thread, never on an event loop.
 */
public final class AppHealthChecker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AppHealthChecker.class);

    /** Probe settings. */
    public record Settings(String path, Duration interval, Duration timeout, int healthyThreshold,
                           int unhealthyThreshold) {
        public static final Settings DEFAULT = new Settings("/health", Duration.ofSeconds(1), Duration.ofSeconds(1), 1, 2);

        public Settings {
            if (interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("health interval: " + interval + " (expected: > 0)");
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("health timeout: " + timeout + " (expected: > 0)");
            }
            if (healthyThreshold < 1 || unhealthyThreshold < 1) {
                throw new IllegalArgumentException("health thresholds: " + healthyThreshold + "/" + unhealthyThreshold
                        + " (expected: >= 1)");
            }
        }
    }

    private final int appPort;
    private final boolean http;
    private final Settings settings;
    private final BiConsumer<HealthStatus, String> listener;
    private final ScheduledExecutorService executor;
    private final HttpClient client;
    private ScheduledFuture<?> task;
    private HealthStatus status = HealthStatus.HEALTH_UNKNOWN;
    private int good;
    private int bad;

    /** {@code listener} gets each change of status with a detail such as {@code GET /health -> 503}. */
    public AppHealthChecker(int appPort, String protocol, Settings settings, BiConsumer<HealthStatus, String> listener) {
        this.appPort = appPort;
        this.http = protocol == null || protocol.isEmpty() || protocol.equals("http");
        this.settings = Objects.requireNonNull(settings);
        this.listener = Objects.requireNonNull(listener);
        this.executor = DaemonThreads.scheduler("trellis-app-health");
        this.client = http ? HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(settings.timeout()).build() : null;
    }

    public synchronized void start() {
        if (task == null) {
            task = executor.scheduleWithFixedDelay(this::probe, 0, settings.interval().toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** The status last reported. */
    public synchronized HealthStatus status() {
        return status;
    }

    private void probe() {
        String detail;
        boolean ok;
        if (http) {
            String what = "GET " + settings.path();
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + appPort + settings.path()))
                        .timeout(settings.timeout()).header("user-agent", "trellis-health-check").GET().build(),
                        HttpResponse.BodyHandlers.discarding());
                ok = r.statusCode() / 100 == 2;
                detail = what + " -> " + r.statusCode();
            } catch (IOException e) {
                ok = false;
                detail = what + " -> " + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        } else {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", appPort), (int) settings.timeout().toMillis());
                ok = true;
                detail = "TCP connect -> ok";
            } catch (IOException e) {
                ok = false;
                detail = "TCP connect -> " + e.getMessage();
            }
        }
        record(ok, detail);
    }

    synchronized void record(boolean ok, String detail) {
        HealthStatus next = status;
        if (ok) {
            bad = 0;
            if (++good >= settings.healthyThreshold()) next = HealthStatus.HEALTHY;
        } else {
            good = 0;
            if (++bad >= settings.unhealthyThreshold()) next = HealthStatus.UNHEALTHY;
        }
        if (next != status) {
            status = next;
            log.info("app on 127.0.0.1:{} is {} ({})", appPort, next, detail);
            listener.accept(next, detail);
        }
    }

    @Override
    public synchronized void close() {
        if (task != null) {
            task.cancel(true);
        }
        executor.shutdownNow();
    }
}
