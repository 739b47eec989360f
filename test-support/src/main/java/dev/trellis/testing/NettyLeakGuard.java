package dev.trellis.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty reports a leaked buffer. Registered for every test through
 * JUnit's extension auto-detection (see the surefire configuration in the parent pom).
 *
 * <p>Netty only reports a leak when the leaked object has been collected and another
 * object of the same kind is tracked, so after each test class we force a few GC rounds
 * and allocate tracked buffers to flush pending reports.
 */
public final class NettyLeakGuard implements AfterEachCallback, AfterAllCallback {

    @Override
    public void afterEach(ExtensionContext context) {
        failOnLeaks(context.getDisplayName());
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        for (int round = 0; round < 3; round++) {
            System.gc();
            Thread.sleep(20); // let the reference handler enqueue collected buffers
            touch(PooledByteBufAllocator.DEFAULT.directBuffer(1));
            touch(PooledByteBufAllocator.DEFAULT.heapBuffer(1));
            touch(UnpooledByteBufAllocator.DEFAULT.directBuffer(1));
            touch(UnpooledByteBufAllocator.DEFAULT.heapBuffer(1));
        }
        failOnLeaks(context == null ? "a test class" : context.getDisplayName());
    }

    private static void touch(ByteBuf buf) {
        buf.release();
    }

    private static void failOnLeaks(String where) {
        List<String> leaks = LeakReports.drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError("Netty reported " + leaks.size() + " leak(s) in " + where + ":\n"
                    + String.join("\n\n", leaks));
        }
    }
}
