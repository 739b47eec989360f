package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackoffTest {
    private static List<Long> millis(Backoff b, int n) {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(b.next().toMillis());
        }
        return out;
    }

    @Test
    void stepsDoubleUpToTheCapWithTheLowestDrawAtHalfTheStep() {
        Backoff low = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(5), () -> 0.0);
        assertThat(millis(low, 7)).containsExactly(250L, 500L, 1000L, 2000L, 2500L, 2500L, 2500L);
        Backoff high = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(5), () -> 1.0);
        assertThat(millis(high, 7)).containsExactly(500L, 1000L, 2000L, 4000L, 5000L, 5000L, 5000L);
        Backoff mid = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(5), () -> 0.5);
        assertThat(millis(mid, 3)).containsExactly(375L, 750L, 1500L);
    }

    @Test
    void jitterSpreadsSidecarsThatFailedTogether() {
        double[] draws = {0.1, 0.9, 0.3, 0.7};
        int[] i = {0};
        Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), () -> draws[i[0]++ % draws.length]);
        assertThat(millis(b, 4)).containsExactly(550L, 950L, 650L, 850L);
    }

    @Test
    void resetStartsOverAndManyAttemptsNeverOverflow() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(30), () -> 1.0);
        millis(b, 3);
        assertThat(b.attempts()).isEqualTo(3);
        b.reset();
        assertThat(b.next()).isEqualTo(Duration.ofMillis(100));
        for (int k = 0; k < 10_000; k++) {
            assertThat(b.next()).isBetween(Duration.ofMillis(50), Duration.ofSeconds(30));
        }
        assertThat(b.next()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void badSettingsNameTheValue() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), () -> 0.5))
                .hasMessage("backoff base: PT0S (expected: > 0)");
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), () -> 0.5))
                .hasMessage("backoff max: PT1S (expected: >= base PT2S)");
    }
}
