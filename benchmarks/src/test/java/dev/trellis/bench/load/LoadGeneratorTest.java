package dev.trellis.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.bench.backend.EchoServer;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** Real load over loopback against the echo backend, for every protocol. */
class LoadGeneratorTest {
    private static EventLoopGroup serverGroup;
    private static EventLoopGroup clientGroup;
    private static EchoServer server;

    @BeforeAll
    static void start() throws Exception {
        serverGroup = Transports.group(1, "test-echo");
        clientGroup = Transports.group(2, "test-load");
        server = EchoServer.start(serverGroup, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterAll
    static void stop() {
        server.close();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void openLoopSendsEveryPlannedRequest(Protocol protocol) {
        AtomicInteger marks = new AtomicInteger();
        try (LoadGenerator gen = new LoadGenerator(clientGroup, protocol, server.address(), 4, 1024)) {
            LoadResult r = gen.openLoop(200, Duration.ofMillis(300), Duration.ofSeconds(2), Duration.ofSeconds(5),
                    Progress.none(), marks::incrementAndGet, marks::incrementAndGet);

            assertThat(r.errorKinds()).isEmpty();
            assertThat(r.errors()).isZero();
            assertThat(r.ok()).isBetween(399L, 401L);
            assertThat(r.corrected().getTotalCount()).isEqualTo(r.ok());
            assertThat(r.corrected().getValueAtPercentile(50)).isGreaterThan(0).isLessThan(TimeUnit.SECONDS.toNanos(1));
            assertThat(r.corrected().getValueAtPercentile(50)).isGreaterThanOrEqualTo(r.uncorrected().getValueAtPercentile(50) / 2);
            assertThat(r.throughput()).isBetween(190.0, 210.0);
            assertThat(marks).hasValue(2);
        }
    }

    @ParameterizedTest
    @EnumSource(Protocol.class)
    void closedLoopRunsFlatOut(Protocol protocol) {
        try (LoadGenerator gen = new LoadGenerator(clientGroup, protocol, server.address(), 2, 1024)) {
            LoadResult r = gen.closedLoop(2, Duration.ofMillis(200), Duration.ofMillis(800), Duration.ofSeconds(5),
                    Progress.none(), () -> {}, () -> {});

            assertThat(r.errors()).isZero();
            assertThat(r.ok()).isGreaterThan(100);
            assertThat(r.rate()).isZero();
        }
    }

    @Test
    void aTargetThatIsNotListeningFailsAtOnceWithTheReason() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        InetSocketAddress nowhere = new InetSocketAddress("127.0.0.1", port);
        assertThatThrownBy(() -> new LoadGenerator(clientGroup, Protocol.HTTP1, nowhere, 1, 16))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("first http1 request failed: connect failed");
    }
}
