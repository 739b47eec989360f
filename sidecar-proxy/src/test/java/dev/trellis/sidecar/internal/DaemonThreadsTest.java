package dev.trellis.sidecar.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {
    @Test
    void schedulerRunsOnOneNamedDaemonThread() throws Exception {
        ScheduledExecutorService s = DaemonThreads.scheduler("trellis-test-scheduler");
        try {
            Thread first = s.submit(Thread::currentThread).get(10, TimeUnit.SECONDS);
            Thread second = s.schedule(Thread::currentThread, 1, TimeUnit.MILLISECONDS).get(10, TimeUnit.SECONDS);
            assertThat(first.getName()).isEqualTo("trellis-test-scheduler");
            assertThat(first.isDaemon()).isTrue();
            assertThat(second).isSameAs(first);
        } finally {
            s.shutdownNow();
        }
    }

    @Test
    void startReturnsTheStartedNamedDaemonThread() throws Exception {
        CompletableFuture<Thread> ran = new CompletableFuture<>();
        Thread t = DaemonThreads.start("trellis-test-once", () -> ran.complete(Thread.currentThread()));
        assertThat(ran.get(10, TimeUnit.SECONDS)).isSameAs(t);
        assertThat(t.getName()).isEqualTo("trellis-test-once");
        assertThat(t.isDaemon()).isTrue();
        t.join(10_000);
        assertThat(t.isAlive()).isFalse();
    }
}
