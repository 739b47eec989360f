package dev.trellis.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.DefaultEventLoop;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The benchmark JVM's own event-loop lag: windows, and a real blocked loop. */
class LoopLagTest {
    @Test
    void keepsTheLargestLagOfEachWindow() {
        Instant[] now = {Instant.parse("2026-01-01T00:00:00Z")};
        LoopLag lag = new LoopLag(Duration.ofMillis(5), System::nanoTime, () -> now[0]);
        assertThat(lag.takeMax()).as("nothing seen yet").isNull();
        lag.record(2_000_000);
        now[0] = now[0].plusSeconds(1);
        lag.record(9_000_000);
        now[0] = now[0].plusSeconds(1);
        lag.record(3_000_000);
        assertThat(lag.takeMax()).isEqualTo(new LoopLag.Max(9_000_000, Instant.parse("2026-01-01T00:00:01Z")));
        assertThat(lag.takeMax()).as("a new window").isNull();
        assertThatThrownBy(() -> new LoopLag(Duration.ZERO, System::nanoTime, Instant::now))
                .hasMessage("period: PT0S (expected: > 0)");
    }

    @Test
    void aBlockedLoopShowsAsLag() throws Exception {
        DefaultEventLoop loop = new DefaultEventLoop();
        try (LoopLag lag = LoopLag.watch(List.of(loop), Duration.ofMillis(5))) {
            Thread.sleep(50);
            lag.takeMax();
            loop.submit(() -> {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).get(5, TimeUnit.SECONDS);
            Thread.sleep(50);
            LoopLag.Max max = lag.takeMax();
            assertThat(max).isNotNull();
            assertThat(max.nanos()).isBetween(TimeUnit.MILLISECONDS.toNanos(150), TimeUnit.SECONDS.toNanos(2));
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }
}
