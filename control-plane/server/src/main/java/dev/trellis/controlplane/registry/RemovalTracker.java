package dev.trellis.controlplane.registry;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Tells when no connected proxy still has an endpoint in the endpoints it ACKed. */
public interface RemovalTracker {
    /** Completes when every proxy's ACKed endpoints lack {@code endpoint} ({@code host:port}), or after {@code bound}. */
    CompletableFuture<Result> awaitRemoval(String endpoint, Duration bound);

    /** {@code pending} lists the node ids that still had the endpoint when the bound passed. */
    record Result(boolean complete, List<String> pending, Duration waited) {}
}
