package dev.trellis.sidecar.filter.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketsTest {
    final AtomicLong now = new AtomicLong(1_000_000_000L);

    TokenBuckets buckets(long burst, long perFill, Duration interval, int maxKeys) {
        return new TokenBuckets(new LocalRateLimitConfig("rl", "rl", burst, perFill, interval,
                new LocalRateLimitConfig.ClientAddress(), maxKeys, true, false), now::get);
    }

    @Test
    void exactlyTheBurstPassesUnderConcurrency() throws Exception {
        for (int round = 0; round < 20; round++) {
            TokenBuckets b = buckets(10, 1, Duration.ofSeconds(1), 100);
            AtomicInteger passed = new AtomicInteger();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (b.tryAcquire("k").allowed()) {
                        passed.incrementAndGet();
                    }
                });
                t.start();
                threads.add(t);
            }
            go.countDown();
            for (Thread t : threads) {
                t.join();
            }
            assertThat(passed.get()).isEqualTo(10);
        }
    }

    @Test
    void refillsAtTheRateAndReportsRemainingAndRetryAfter() {
        TokenBuckets b = buckets(3, 2, Duration.ofSeconds(1), 100);
        assertThat(b.tryAcquire("a").remaining()).isEqualTo(2);
        assertThat(b.tryAcquire("a").remaining()).isEqualTo(1);
        assertThat(b.tryAcquire("a").remaining()).isEqualTo(0);
        TokenBuckets.Decision refused = b.tryAcquire("a");
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterNanos()).isEqualTo(500_000_000L);
        now.addAndGet(499_000_000L);
        assertThat(b.tryAcquire("a").allowed()).isFalse();
        now.addAndGet(1_000_000L);
        assertThat(b.tryAcquire("a").allowed()).isTrue();
        assertThat(b.tryAcquire("a").allowed()).isFalse();
        // another key has its own bucket
        assertThat(b.tryAcquire("b").allowed()).isTrue();
        // after a long pause the bucket is full again, not fuller
        now.addAndGet(60_000_000_000L);
        for (int i = 0; i < 3; i++) {
            assertThat(b.tryAcquire("a").allowed()).isTrue();
        }
        assertThat(b.tryAcquire("a").allowed()).isFalse();
    }

    @Test
    void keyTableIsBoundedAndDropsIdleKeys() {
        TokenBuckets b = buckets(2, 1, Duration.ofSeconds(1), 50);
        for (int i = 0; i < 500; i++) {
            b.tryAcquire("k" + i);
        }
        assertThat(b.size()).isLessThanOrEqualTo(50);
        now.addAndGet(Duration.ofSeconds(3).toNanos());
        assertThat(b.size()).isZero();
    }
}
