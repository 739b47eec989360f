package dev.trellis.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Test;

/** Proves that the guard sees a real leak: the build would not fail on leaks otherwise. */
class NettyLeakGuardTest {

    @Test
    void testsRunWithParanoidLeakDetection() {
        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
    }

    @Test
    void aLeakedBufferFailsTheGuard() {
        leak();
        NettyLeakGuard guard = new NettyLeakGuard();
        assertThatThrownBy(() -> guard.afterAll(null))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("LEAK:");
    }

    private static void leak() {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        buf.writeLong(42);
        // dropped without release()
    }
}
