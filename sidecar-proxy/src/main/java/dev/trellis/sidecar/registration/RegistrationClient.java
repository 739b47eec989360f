package dev.trellis.sidecar.registration;

import com.google.protobuf.util.Durations;
import dev.trellis.controlplane.api.v1.Deregister;
import dev.trellis.controlplane.api.v1.HealthReport;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.Registered;
import dev.trellis.controlplane.api.v1.RegistrationGrpc;
import dev.trellis.controlplane.api.v1.RegistrationRequest;
import dev.trellis.controlplane.api.v1.RegistrationResponse;
import dev.trellis.controlplane.api.v1.RemovalAcknowledged;
import dev.trellis.sidecar.xds.Backoff;
import dev.trellis.sidecar.xds.CurrentCallObserver;
import dev.trellis.sidecar.xds.Scheduler;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one instance registered over {@code trellis.v1.Registration/Register}: registers, streams
 * the app's health, re-registers (same instance id, last health) with {@link Backoff} whenever
 * the call breaks, and deregisters on request. A refusal of the instance itself
 * ({@code INVALID_ARGUMENT}, {@code PERMISSION_DENIED}) before the first registration is final and
 * completes {@link #registered()} exceptionally. Runs on one {@link Scheduler}.
 */
public final class RegistrationClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RegistrationClient.class);
    private static final Set<Status.Code> FINAL = Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.PERMISSION_DENIED);

    private final ManagedChannel channel;
    private final RegistrationGrpc.RegistrationStub stub;
    private final Instance instance;
    private final Scheduler scheduler;
    private final Backoff backoff;
    private final CompletableFuture<Registered> first = new CompletableFuture<>();

    // confined to the scheduler
    private StreamObserver<RegistrationRequest> call;
    private int generation;
    private Future<?> retry;
    private HealthReport health = HealthReport.newBuilder().setStatus(HealthStatus.HEALTH_UNKNOWN).build();
    private CompletableFuture<RemovalAcknowledged> removal;

    private volatile boolean registered;
    private volatile boolean closed;
    private volatile long registrations;

    public RegistrationClient(ManagedChannel channel, Instance instance, Scheduler scheduler, Backoff backoff) {
        this.channel = Objects.requireNonNull(channel);
        this.stub = RegistrationGrpc.newStub(channel);
        this.instance = Objects.requireNonNull(instance);
        this.scheduler = Objects.requireNonNull(scheduler);
        this.backoff = Objects.requireNonNull(backoff);
    }

    public void start() {
        scheduler.execute(this::connect);
    }

    /** Completes with the server's answer to the first registration (node id, grace period). */
    public CompletableFuture<Registered> registered() {
        return first;
    }

    /** True while a registration call is open and acknowledged. */
    public boolean isRegistered() {
        return registered;
    }

    /** Acknowledged registrations so far (1 + re-registrations). */
    public long registrations() {
        return registrations;
    }

    public Instance instance() {
        return instance;
    }

    /** Reports the app's health; sent now on the open call (after its register), and with every re-registration. */
    public void health(HealthStatus status, String detail) {
        HealthReport r = HealthReport.newBuilder().setStatus(status).setDetail(detail).build();
        scheduler.execute(() -> {
            if (r.equals(health)) {
                return;
            }
            health = r;
            if (call != null && removal == null) {
                send(RegistrationRequest.newBuilder().setHealth(r).build());
            }
        });
    }

    /**
     * Takes the instance out of service: completes with the server's {@code removal_acknowledged}
     * (every peer has ACKed endpoints without it, or {@code ackTimeout} passed), or exceptionally
     * when not registered or the call breaks first.
     */
    public CompletableFuture<RemovalAcknowledged> deregister(Duration ackTimeout) {
        CompletableFuture<RemovalAcknowledged> f = new CompletableFuture<>();
        scheduler.execute(() -> {
            if (removal != null) {
                removal.whenComplete((v, e) -> {
                    if (e != null) f.completeExceptionally(e); else f.complete(v);
                });
                return;
            }
            removal = f;
            if (retry != null) {
                retry.cancel(false);
            }
            if (!registered || call == null) {
                f.completeExceptionally(new IllegalStateException("not registered with the control plane"));
                return;
            }
            send(RegistrationRequest.newBuilder().setDeregister(Deregister.newBuilder()
                    .setAckTimeout(Durations.fromNanos(ackTimeout.toNanos()))).build());
        });
        return f;
    }

    private void connect() {
        if (closed || removal != null) {
            return;
        }
        retry = null;
        int gen = ++generation;
        channel.resetConnectBackoff();
        call = stub.register(new CurrentCallObserver<>(scheduler, () -> generation, gen, this::onResponse,
                t -> ended(t == null ? null : Status.fromThrowable(t))));
        // the health goes with the registration: after a control-plane restart the instance is
        // routable in the same change that adds it, so peers never see its service empty
        send(RegistrationRequest.newBuilder().setRegister(instance).setHealthAtRegister(health).build());
    }

    private void onResponse(RegistrationResponse r) {
        switch (r.getKindCase()) {
            case REGISTERED -> {
                registered = true;
                registrations++;
                backoff.reset();
                if (first.isDone()) {
                    log.info("re-registered {} as {}", instance.getInstanceId(), r.getRegistered().getNodeId());
                } else {
                    log.info("registered {} of service {} as {}", instance.getInstanceId(), instance.getService(),
                            r.getRegistered().getNodeId());
                }
                first.complete(r.getRegistered());
            }
            case REMOVAL_ACKNOWLEDGED -> {
                registered = false;
                if (removal != null) {
                    removal.complete(r.getRemovalAcknowledged());
                }
            }
            default -> log.warn("unexpected registration response {}", r.getKindCase());
        }
    }

    private void ended(Status status) {
        registered = false;
        call = null;
        generation++;
        if (removal != null) {
            if (!removal.isDone()) {
                removal.completeExceptionally(new IllegalStateException("registration call ended before the removal was acknowledged: "
                        + (status == null ? "completed" : status)));
            }
            return;
        }
        if (closed) {
            return;
        }
        if (status != null && FINAL.contains(status.getCode()) && !first.isDone()) {
            first.completeExceptionally(new IllegalArgumentException("control plane refused the registration: "
                    + status.getDescription()));
            return;
        }
        Duration wait = backoff.next();
        if (backoff.attempts() == 1) {
            log.warn("registration call ended ({}); re-registering in {} ms",
                    status == null ? "completed by the server" : status, wait.toMillis());
        } else {
            log.debug("registration attempt {} failed ({}); next in {} ms", backoff.attempts() - 1, status, wait.toMillis());
        }
        retry = scheduler.schedule(this::connect, wait);
    }

    private void send(RegistrationRequest r) {
        if (call != null) {
            call.onNext(r);
        }
    }

    /**
     * Ends the call without deregistering: the control plane keeps the instance for its grace
     * period (as after a crash). Call {@link #deregister} first for a graceful exit.
     */
    @Override
    public void close() {
        closed = true;
        scheduler.execute(() -> {
            if (retry != null) {
                retry.cancel(false);
            }
            if (call instanceof ClientCallStreamObserver<RegistrationRequest> c) {
                c.cancel("sidecar closing", null);
            }
            call = null;
            registered = false;
            generation++;
        });
    }
}
