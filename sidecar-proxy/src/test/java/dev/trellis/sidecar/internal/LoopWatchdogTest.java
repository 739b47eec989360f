package dev.trellis.sidecar.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.DefaultEventLoopGroup;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The event-loop watchdog on a real loop, with a fake ticker: a blocked loop is reported with where it is. */
class LoopWatchdogTest {
    private static final long MS = 1_000_000;
    private final DefaultEventLoop loop = new DefaultEventLoop();
    private final AtomicLong now = new AtomicLong(1_000 * MS);
    private final List<LoopWatchdog.Miss> misses = new CopyOnWriteArrayList<>();
    private final LoopWatchdog watchdog = new LoopWatchdog(List.of(loop), Duration.ofMillis(200), now::get, misses::add);

    @AfterEach
    void stop() throws Exception {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    /** Runs a check, then waits until the loop has run everything queued so far. */
    private void checkAndDrain() throws Exception {
        watchdog.check();
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aLoopThatRunsItsHeartbeatsIsNeverReported() throws Exception {
        for (int i = 0; i < 10; i++) {
            checkAndDrain();
            now.addAndGet(100 * MS);
        }
        assertThat(misses).isEmpty();
    }

    @Test
    void aBlockedLoopIsReportedOnceWithItsStackThenWhenItRunsAgain() throws Exception {
        checkAndDrain(); // learns the loop's thread
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        loop.execute(() -> blockedInAHandler(blocked, release));
        assertThat(blocked.await(5, TimeUnit.SECONDS)).isTrue();

        watchdog.check(); // posts a heartbeat, which waits behind the blocked task
        for (int i = 0; i < 2; i++) {
            now.addAndGet(100 * MS);
            watchdog.check();
        }
        assertThat(misses).as("not over the miss timeout yet").isEmpty();
        for (int i = 0; i < 2; i++) {
            now.addAndGet(100 * MS);
            watchdog.check();
        }

        assertThat(misses).hasSize(1);
        LoopWatchdog.Miss miss = misses.get(0);
        assertThat(miss.recovered()).isFalse();
        assertThat(miss.stalledNanos()).isEqualTo(300 * MS);
        assertThat(miss.stack()).contains("blockedInAHandler");
        assertThat(miss.watchdogLateNanos()).as("the checks ran 100 ms apart, as scheduled").isZero();

        now.addAndGet(50 * MS);
        release.countDown();
        loop.submit(() -> { }).get(5, TimeUnit.SECONDS);
        assertThat(misses).hasSize(2);
        assertThat(misses.get(1).recovered()).isTrue();
        assertThat(misses.get(1).stalledNanos()).isEqualTo(450 * MS);
    }

    @Test
    void aLateWatchdogSaysTheProcessWasNotRunning() throws Exception {
        checkAndDrain();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        loop.execute(() -> blockedInAHandler(blocked, release));
        assertThat(blocked.await(5, TimeUnit.SECONDS)).isTrue();
        watchdog.check();
        now.addAndGet(900 * MS); // the next check was due after 100 ms
        watchdog.check();
        assertThat(misses).hasSize(1);
        assertThat(misses.get(0).watchdogLateNanos()).isEqualTo(800 * MS);
        release.countDown();
    }

    @Test
    void theMissTimeoutMustBePositive() {
        assertThatThrownBy(() -> new LoopWatchdog(List.of(loop), Duration.ZERO, now::get, misses::add))
                .hasMessage("missTimeout: PT0S (expected: > 0)");
    }

    private static void blockedInAHandler(CountDownLatch blocked, CountDownLatch release) {
        blocked.countDown();
        try {
            release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void watchCountsAStallOfARealLoopAndItsThreadEndsOnClose() throws Exception {
        DefaultEventLoopGroup group = new DefaultEventLoopGroup(1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CountDownLatch release = new CountDownLatch(1);
        Set<Thread> before = watchdogThreads();
        try (LoopWatchdog w = LoopWatchdog.watch(group, Duration.ofMillis(20), "test.setting", registry)) {
            group.execute(() -> {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> registry.counter("trellis.event.loop.stalls").count() >= 1);
            assertThat(registry.get("trellis.event.loop.stalls").counter().getId().getDescription()).contains("test.setting");
        } finally {
            release.countDown();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> before.containsAll(watchdogThreads()));
    }

    /** Live watchdog threads; other tests' sidecars in this JVM may have their own. */
    private static Set<Thread> watchdogThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("trellis-watchdog") && t.isAlive())
                .collect(Collectors.toSet());
    }
}
