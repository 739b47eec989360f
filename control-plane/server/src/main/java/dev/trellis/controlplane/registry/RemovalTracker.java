package dev.trellis.controlplane.registry;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Tells when no connected proxy still has an endpoint in the endpoints it ACKed. */
public interface RemovalTracker {
    /**
     * Completes when no proxy's ACKed endpoints include {@code instanceId} any more, or after
     * {@code bound}.
     */
    CompletableFuture<Result> awaitRemoval(String instanceId, Duration bound);

    /** {@code pending} lists the node ids that still had the endpoint when the bound passed. */
    record Result(boolean complete, List<String> pending, Duration waited) {}
}
