package dev.trellis.bench.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProgressBarTest {
    @Test
    void rendersTheFractionDoneAndTheCounts() {
        String line = ProgressBar.render("haproxy @ 1000 rps", 12_500_000_000L, 25_000_000_000L, 1200, 3);
        assertThat(line).startsWith("haproxy @ 1000 rps").contains("[###############...............]", " 50%",
                "12.5s/25.0s", "ok 1200", "errors 3");
        assertThat(ProgressBar.render("x", 30_000_000_000L, 25_000_000_000L, 0, 0)).contains("100%");
    }

    @Test
    void pathWarmupIsTwiceThePhaseWarmupAndAtLeastTwoSeconds() {
        assertThat(BenchRunner.pathWarmup(Duration.ZERO)).isZero();
        assertThat(BenchRunner.pathWarmup(Duration.ofMillis(500))).isEqualTo(Duration.ofSeconds(2));
        assertThat(BenchRunner.pathWarmup(Duration.ofSeconds(5))).isEqualTo(Duration.ofSeconds(10));
    }
}
