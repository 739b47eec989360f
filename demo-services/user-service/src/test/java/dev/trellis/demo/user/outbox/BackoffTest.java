package dev.trellis.demo.user.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void growsExponentiallyWithinHalfToFullOfTheCeiling() {
        Backoff low = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), () -> 0.0);
        Backoff high = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), () -> 0.999_999);
        long[] ceilings = {100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000};
        for (int attempt = 1; attempt <= ceilings.length; attempt++) {
            long ceiling = ceilings[attempt - 1];
            assertThat(low.delay(attempt).toMillis()).as("attempt %d low", attempt).isEqualTo(ceiling / 2);
            assertThat(high.delay(attempt).toMillis()).as("attempt %d high", attempt).isBetween(ceiling - 1, ceiling);
        }
    }

    @Test
    void capsHugeAttemptNumbersWithoutOverflow() {
        Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), () -> 0.5);
        assertThat(backoff.delay(63).toMillis()).isEqualTo(7500);
        assertThat(backoff.delay(Integer.MAX_VALUE).toMillis()).isEqualTo(7500);
    }

    @Test
    void jitterSpreadsRetries() {
        Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(10), Math::random);
        long distinct = java.util.stream.IntStream.range(0, 50).mapToLong(i -> backoff.delay(5).toMillis()).distinct().count();
        assertThat(distinct).isGreaterThan(10);
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), () -> 0))
                .hasMessage("backoff base: 0ms (expected: > 0)");
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), () -> 0))
                .hasMessage("backoff max: 1000ms (expected: >= base 2000ms)");
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), () -> 0).delay(0))
                .hasMessage("attempt: 0 (expected: >= 1)");
    }
}
