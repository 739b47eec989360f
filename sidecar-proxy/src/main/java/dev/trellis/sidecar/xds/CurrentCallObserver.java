package dev.trellis.sidecar.xds;

import io.grpc.stub.StreamObserver;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * Hands one gRPC call's events to the {@link Scheduler} and drops them once a newer call has
 * replaced it (its generation is no longer current), so a late error of a dead stream never
 * tears down its successor. {@code onEnd} gets the error, or null when the server completed.
 */
public final class CurrentCallObserver<T> implements StreamObserver<T> {
    private final Scheduler scheduler;
    private final IntSupplier currentGeneration;
    private final int generation;
    private final Consumer<T> onNext;
    private final Consumer<Throwable> onEnd;

    public CurrentCallObserver(Scheduler scheduler, IntSupplier currentGeneration, int generation,
                               Consumer<T> onNext, Consumer<Throwable> onEnd) {
        this.scheduler = scheduler;
        this.currentGeneration = currentGeneration;
        this.generation = generation;
        this.onNext = onNext;
        this.onEnd = onEnd;
    }

    @Override
    public void onNext(T value) {
        run(() -> onNext.accept(value));
    }

    @Override
    public void onError(Throwable t) {
        run(() -> onEnd.accept(t));
    }

    @Override
    public void onCompleted() {
        run(() -> onEnd.accept(null));
    }

    private void run(Runnable task) {
        scheduler.execute(() -> {
            if (generation == currentGeneration.getAsInt()) {
                task.run();
            }
        });
    }
}
