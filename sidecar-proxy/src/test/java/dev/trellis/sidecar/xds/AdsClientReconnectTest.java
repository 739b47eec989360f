package dev.trellis.sidecar.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.common.cli.HostPort;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Reconnect timing of the ADS client against a real, closed port: every failed attempt waits the
 * backoff's next step on the (manual) scheduler, a success resets it. No sleeping.
 */
class AdsClientReconnectTest {
    @Test
    void failedStreamsAreRetriedAfterTheBackoffStepsThenResetOnSuccess() throws Exception {
        int port = Mesh.freePort(); // nothing listens here
        ManagedChannel channel = ControlPlaneChannel.open(new HostPort("127.0.0.1", port));
        ManualScheduler sched = new ManualScheduler();
        Backoff backoff = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(2), () -> 1.0);
        AdsClient ads = new AdsClient(channel, Node.newBuilder().setId("sidecar~t~t-1").build(),
                (c, t) -> Optional.empty(), sched, backoff, Duration.ZERO);
        try {
            ads.start();
            for (Duration expected : new Duration[] {Duration.ofMillis(200), Duration.ofMillis(400),
                    Duration.ofMillis(800), Duration.ofMillis(1600), Duration.ofSeconds(2), Duration.ofSeconds(2)}) {
                // connect; the gRPC failure arrives on its own thread and queues the reaction
                await().atMost(Duration.ofSeconds(5)).until(() -> {
                    sched.runReady();
                    return !sched.pendingDelays().isEmpty();
                });
                assertThat(sched.pendingDelays()).containsExactly(expected);
                assertThat(ads.connected()).isFalse();
                long streams = ads.streams();
                sched.advance(expected);
                assertThat(ads.streams()).isEqualTo(streams + 1);
            }

            // a control plane appears on that port: the next attempt connects and the backoff resets
            try (Mesh mesh = new Mesh(Duration.ofSeconds(1), port)) {
                sched.advance(Duration.ofSeconds(2));
                await().atMost(Duration.ofSeconds(10)).until(() -> {
                    sched.runReady();
                    return ads.connected() || sched.pendingDelays().size() == 1 && retry(sched);
                });
                assertThat(backoff.attempts()).isZero();
                assertThat(ads.acks()).isPositive();
            }
        } finally {
            ads.close();
            sched.runReady();
            channel.shutdownNow();
        }
    }

    /** The first attempt may still have found the port closed: fire the pending retry. */
    private static boolean retry(ManualScheduler sched) {
        sched.advance(Duration.ofSeconds(2));
        return false;
    }
}
