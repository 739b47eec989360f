package dev.trellis.sidecar.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PeakEwmaTest {
    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final PeakEwma ewma = new PeakEwma(now::get, Duration.ofSeconds(10), Duration.ofMillis(30));

    @Test
    void startsAtTheDefaultRtt() {
        assertThat(ewma.estimateNanos()).isEqualTo(30e6);
    }

    @Test
    void aSlowerResponseIsTakenAtOnce() {
        ewma.observe(200_000_000);
        assertThat(ewma.estimateNanos()).isEqualTo(200e6);
    }

    @Test
    void withoutResponsesTheEstimateDecaysWithTheWindow() {
        ewma.observe(100_000_000);
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        assertThat(ewma.estimateNanos()).isCloseTo(100e6 / Math.E, within(1.0));
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        assertThat(ewma.estimateNanos()).isCloseTo(100e6 / Math.E / Math.E, within(1.0));
    }

    @Test
    void fasterResponsesPullTheEstimateDownByElapsedTime() {
        ewma.observe(100_000_000);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        ewma.observe(10_000_000);
        double w = Math.exp(-0.1);
        assertThat(ewma.estimateNanos()).isCloseTo(100e6 * w + 10e6 * (1 - w), within(1.0));
        // a response at the same instant does not move it
        double before = ewma.estimateNanos();
        ewma.observe(1_000_000);
        assertThat(ewma.estimateNanos()).isCloseTo(before, within(1.0));
    }
}
