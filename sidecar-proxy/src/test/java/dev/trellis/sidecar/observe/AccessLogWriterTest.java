package dev.trellis.sidecar.observe;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** The writer queues, drops and counts when full, and never blocks the caller. */
class AccessLogWriterTest {
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final Counter dropped = registry.counter("dropped");
    final Counter written = registry.counter("written");

    @Test
    void aStuckSinkFillsTheQueueThenLinesAreDroppedAndCounted() throws Exception {
        CountDownLatch opening = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLogWriter w = new AccessLogWriter("stuck", () -> {
            opening.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return out;
        }, 3, dropped, written);
        assertThat(w.offer("line-0")).isTrue();
        assertThat(opening.await(5, TimeUnit.SECONDS)).isTrue();
        long t0 = System.nanoTime();
        int accepted = 0;
        for (int i = 1; i <= 10; i++) {
            if (w.offer("line-" + i)) {
                accepted++;
            }
        }
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1000);
        assertThat(accepted).isEqualTo(3);
        assertThat(dropped.count()).isEqualTo(7.0);
        assertThat(w.queued()).isEqualTo(3);
        release.countDown();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> written.count() == 4.0);
        w.close();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("line-0\nline-1\nline-2\nline-3\n");
    }

    @Test
    void aFailingSinkCountsItsLinesAsDroppedAndRecovers() throws Exception {
        ByteArrayOutputStream good = new ByteArrayOutputStream();
        int[] opens = {0};
        AccessLogWriter w = new AccessLogWriter("flaky", () -> {
            if (opens[0]++ == 0) {
                throw new IOException("disk full");
            }
            return good;
        }, 16, dropped, written);
        w.offer("a");
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> dropped.count() == 1.0);
        w.offer("b");
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> written.count() == 1.0);
        w.close();
        assertThat(good.toString(StandardCharsets.UTF_8)).isEqualTo("b\n");
    }

    @Test
    void closeWritesWhatIsQueuedAndLaterLinesAreDropped() {
        OutputStream[] sink = {new ByteArrayOutputStream()};
        AccessLogWriter w = new AccessLogWriter("c", () -> sink[0], 100, dropped, written);
        for (int i = 0; i < 50; i++) {
            w.offer("x" + i);
        }
        w.close();
        assertThat(written.count()).isEqualTo(50.0);
        assertThat(w.offer("late")).isFalse();
        assertThat(dropped.count()).isEqualTo(1.0);
    }
}
