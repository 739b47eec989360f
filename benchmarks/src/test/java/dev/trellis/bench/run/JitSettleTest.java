package dev.trellis.bench.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class JitSettleTest {
    @Test
    void compilersCountAsSettledUnderThreePercentOfTheStep() {
        Duration step = Duration.ofSeconds(3);
        assertThat(BenchRunner.settled(0, step)).isTrue();
        assertThat(BenchRunner.settled(0.09, step)).as("3% of 3 s").isTrue();
        assertThat(BenchRunner.settled(0.10, step)).isFalse();
        assertThat(BenchRunner.settled(1.5, step)).as("half a CPU compiling").isFalse();
    }
}
