package dev.trellis.sidecar.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.CircuitBreakerConfig;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ResourceManagerTest {
    @Test
    void budgetIsAShareOfActiveRequestsWithAFloor() {
        ResourceManager rm = new ResourceManager(CircuitBreakerConfig.DEFAULT);
        assertThat(rm.retryLimit()).isEqualTo(3);
        for (int i = 0; i < 50; i++) {
            assertThat(rm.tryAcquireRequest()).isTrue();
        }
        assertThat(rm.retryLimit()).isEqualTo(10);
        // retrying requests do not earn budget themselves: 20% of the 42 that are not retrying
        for (int i = 0; i < 8; i++) {
            assertThat(rm.tryAcquireRetry()).isTrue();
        }
        assertThat(rm.retryLimit()).isEqualTo(8);
        assertThat(rm.tryAcquireRetry()).isFalse();
        assertThat(rm.retries().overflows()).isEqualTo(1);
        rm.retries().release();
        assertThat(rm.tryAcquireRetry()).isTrue();
    }

    @Test
    void withoutBudgetMaxRetriesBounds() {
        ResourceManager rm = new ResourceManager(new CircuitBreakerConfig(2, 1, 2, 1, Optional.empty()));
        assertThat(rm.tryAcquireRetry()).isTrue();
        assertThat(rm.tryAcquireRetry()).isFalse();
        assertThat(rm.tryAcquireRequest()).isTrue();
        assertThat(rm.tryAcquireRequest()).isTrue();
        assertThat(rm.tryAcquireRequest()).isFalse();
        assertThat(rm.requests().overflows()).isEqualTo(1);
        assertThat(rm.tryAcquirePending()).isTrue();
        assertThat(rm.tryAcquirePending()).isFalse();
        assertThat(rm.tryAcquireConnection()).isTrue();
        assertThat(rm.tryAcquireConnection()).isTrue();
        assertThat(rm.tryAcquireConnection()).isFalse();
    }
}
