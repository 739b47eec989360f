package dev.trellis.demo.user;

import dev.trellis.demo.user.grpc.TraceContextInterceptor;
import dev.trellis.demo.user.grpc.UserGrpcService;
import dev.trellis.demo.user.outbox.Backoff;
import dev.trellis.demo.user.outbox.HttpDelivery;
import dev.trellis.demo.user.outbox.OutboxRelay;
import dev.trellis.demo.user.service.UserService;
import dev.trellis.demo.user.store.Database;
import dev.trellis.demo.user.store.OutboxStore;
import dev.trellis.demo.user.store.UserRepository;
import dev.trellis.demo.user.store.UserSchema;
import dev.trellis.demo.user.web.HttpService;
import dev.trellis.demo.user.web.UserHttpApi;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running user-service: database (migrated), REST and gRPC servers, outbox relay. Ready once all
 * are up; {@link #close()} shuts down gracefully (drain, finish in-flight requests, flush the relay,
 * close the database).
 */
public final class UserServiceApp implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UserServiceApp.class);

    private final UserServiceConfig config;
    private final Database db;
    private final UserService users;
    private final OutboxRelay relay;
    private final HttpService http;
    private final Server grpc;
    private final ExecutorService grpcExecutor;
    private final AtomicBoolean ready = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    private UserServiceApp(UserServiceConfig config, Database db, UserService users, OutboxRelay relay,
                           HttpService http, Server grpc, ExecutorService grpcExecutor) {
        this.config = config;
        this.db = db;
        this.users = users;
        this.relay = relay;
        this.http = http;
        this.grpc = grpc;
        this.grpcExecutor = grpcExecutor;
    }

    public static UserServiceApp start(UserServiceConfig config, Clock clock) throws Exception {
        Database db = Database.open(config.dataDir(), "users", config.sharedDb(), UserSchema.MIGRATIONS);
        OutboxRelay relay = null;
        HttpService http = null;
        Server grpc = null;
        ExecutorService grpcExecutor = null;
        try {
            UserRepository repository = new UserRepository(db, clock);
            if (config.notificationUrl() != null) {
                relay = new OutboxRelay(new OutboxStore(db),
                        new HttpDelivery(config.notificationUrl(), config.deliveryTimeout()),
                        new Backoff(config.backoffBase(), config.backoffMax(), () -> ThreadLocalRandom.current().nextDouble()),
                        clock, OutboxRelay.Waiter.blocking(), config.relayLease(), 100);
            } else {
                log.warn("no notification-service URL (--notification-url or TRELLIS_UPSTREAM_NOTIFICATION_SERVICE_URL):"
                        + " events stay in the outbox until a start that has one");
            }
            OutboxRelay relayRef = relay;
            UserService users = new UserService(repository, config.cacheTtl(), config.cacheSize(),
                    () -> {
                        if (relayRef != null) {
                            relayRef.wake();
                        }
                    });
            AtomicBoolean readyFlag = new AtomicBoolean();
            grpcExecutor = Executors.newFixedThreadPool(config.httpThreads(), r -> {
                Thread t = new Thread(r, "user-service-grpc");
                t.setDaemon(true);
                return t;
            });
            grpc = NettyServerBuilder.forAddress(new InetSocketAddress(config.host(), config.grpcPort()))
                    .executor(grpcExecutor)
                    .addService(ServerInterceptors.intercept(new UserGrpcService(users), new TraceContextInterceptor()))
                    .build()
                    .start();
            http = HttpService.start("user-service", config.host(), config.httpPort(), config.httpThreads(),
                    new UserHttpApi(users).router(), readyFlag::get);
            UserServiceApp app = new UserServiceApp(config, db, users, relay, http, grpc, grpcExecutor);
            if (relay != null) {
                relay.start();
            }
            app.ready.set(true);
            readyFlag.set(true);
            app.writePortsFile();
            log.info("user-service ready: http port {}, grpc port {}, data dir {}, notification-service {}",
                    http.port(), grpc.getPort(), config.dataDir().toAbsolutePath(),
                    config.notificationUrl() == null ? "(none)" : config.notificationUrl());
            return app;
        } catch (Exception | Error e) {
            if (http != null) {
                http.stop(Duration.ofMillis(1));
            }
            if (grpc != null) {
                grpc.shutdownNow();
            }
            if (grpcExecutor != null) {
                grpcExecutor.shutdownNow();
            }
            if (relay != null) {
                relay.close();
            }
            db.close();
            throw e;
        }
    }

    public int httpPort() {
        return http.port();
    }

    public int grpcPort() {
        return grpc.getPort();
    }

    public boolean isReady() {
        return ready.get() && !http.isDraining();
    }

    public UserService users() {
        return users;
    }

    /** Null when no notification-service URL was given. */
    public OutboxRelay relay() {
        return relay;
    }

    public Database database() {
        return db;
    }

    private void writePortsFile() throws IOException {
        Path file = config.portsFile();
        if (file == null) {
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, "{\"http\":" + httpPort() + ",\"grpc\":" + grpcPort() + "}\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Graceful shutdown: /ready turns 503, waits the drain delay, stops accepting and lets in-flight
     * requests (REST and gRPC) finish within the shutdown timeout, flushes the outbox relay, closes the database.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long start = System.nanoTime();
        log.info("user-service shutting down");
        http.beginDrain();
        if (!config.drainDelay().isZero()) {
            try {
                Thread.sleep(config.drainDelay().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        grpc.shutdown();
        http.stop(config.shutdownTimeout());
        try {
            if (!grpc.awaitTermination(config.shutdownTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                grpc.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            grpc.shutdownNow();
        }
        grpcExecutor.shutdown();
        if (relay != null) {
            relay.close();
        }
        db.close();
        log.info("user-service stopped in {} ms", (System.nanoTime() - start) / 1_000_000);
    }
}
