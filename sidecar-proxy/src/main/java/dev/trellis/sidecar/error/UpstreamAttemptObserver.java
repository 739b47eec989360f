package dev.trellis.sidecar.error;

/**
 * Told how one upstream attempt ended. A request that is retried has one per attempt, so each
 * attempt becomes its own client span; {@link StreamObserver#onUpstreamAttempt} makes them.
 */
@FunctionalInterface
public interface UpstreamAttemptObserver {
    UpstreamAttemptObserver NONE = (code, failure) -> { };

    /**
     * The attempt is over: {@code responseCode} is the upstream's status (0 when none arrived),
     * {@code failure} why it failed ({@code null} when the response completed).
     */
    void onEnd(int responseCode, ResponseFlag failure);
}
