package dev.trellis.sidecar.filter.ratelimit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Token buckets by key, as a generic cell rate algorithm: each bucket is one atomic "theoretical
 * arrival time", moved forward by compare-and-set, so concurrent requests never take more than the
 * burst (with burst B and M >= B requests at the same instant, exactly B pass). Refill is
 * continuous (a token every {@code fillInterval / tokensPerFill}) rather than in steps. The key table
 * is a bounded Caffeine cache on the injected ticker; a key idle long enough to be full again is dropped.
 */
public final class TokenBuckets {
    private final long intervalNanos;
    private final long toleranceNanos;
    private final long limit;
    private final LongSupplier nanoTime;
    private final Cache<String, AtomicLong> buckets;

    /** A decision: allowed or not, tokens left, and (when refused) nanoseconds until the next token. */
    public record Decision(boolean allowed, long remaining, long retryAfterNanos) {}

    public TokenBuckets(LocalRateLimitConfig c, LongSupplier nanoTime) {
        this.intervalNanos = Math.max(1, c.fillInterval().toNanos() / c.tokensPerFill());
        this.toleranceNanos = (c.maxTokens() - 1) * intervalNanos;
        this.limit = c.maxTokens();
        this.nanoTime = nanoTime;
        this.buckets = Caffeine.newBuilder().ticker(nanoTime::getAsLong).maximumSize(c.maxKeys())
                .expireAfterAccess(Duration.ofNanos(toleranceNanos + intervalNanos)).build();
    }

    public long limit() {
        return limit;
    }

    /** Takes a token from {@code key}'s bucket if there is one. */
    public Decision tryAcquire(String key) {
        AtomicLong tat = buckets.get(key, k -> new AtomicLong(Long.MIN_VALUE));
        while (true) {
            long now = nanoTime.getAsLong();
            long current = tat.get();
            long start = current == Long.MIN_VALUE || current - now < 0 ? now : current;
            long ahead = start - now;
            if (ahead > toleranceNanos) {
                return new Decision(false, 0, ahead - toleranceNanos);
            }
            long next = start + intervalNanos;
            if (tat.compareAndSet(current, next)) {
                long remaining = (toleranceNanos - (next - now)) / intervalNanos + 1;
                return new Decision(true, Math.max(0, remaining), 0);
            }
        }
    }

    /** Keys currently held (for tests). */
    public long size() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }
}
