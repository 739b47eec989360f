package dev.trellis.sidecar.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.config.ClusterConfig;
import dev.trellis.sidecar.config.ClusterConfig.Health;
import dev.trellis.sidecar.upstream.ConnectionPool;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A cluster's pools per host follow its upstream protocol, or each request's for DOWNSTREAM. */
class DownstreamProtocolPoolTest {
    private final Host host = new Host(new InetSocketAddress("127.0.0.1", 1), "h", 1, 0, Health.HEALTHY);

    private Cluster cluster(ClusterConfig.UpstreamProtocol protocol) {
        return new Cluster(new ClusterConfig("c", ClusterConfig.DiscoveryType.STATIC, Duration.ofSeconds(1), List.of(),
                protocol, 1 << 20, 1024, Optional.empty(), Optional.empty()), List.of(host), null);
    }

    @Test
    void downstreamClustersKeepAnHttp1AndAnHttp2PoolPerHost() {
        EmbeddedChannel ch = new EmbeddedChannel();
        EventLoop loop = ch.eventLoop();
        Cluster c = cluster(ClusterConfig.UpstreamProtocol.DOWNSTREAM);
        ConnectionPool h2 = c.pool(loop, host, false, true);
        ConnectionPool h1 = c.pool(loop, host, false, false);
        assertThat(h2.getClass().getSimpleName()).isEqualTo("Http2ConnectionPool");
        assertThat(h1.getClass().getSimpleName()).isEqualTo("Http1ConnectionPool");
        assertThat(c.pool(loop, host, false, true)).isSameAs(h2);
        assertThat(c.pool(loop, host, false, false)).isSameAs(h1);
        ch.finishAndReleaseAll();
    }

    @Test
    void explicitProtocolsIgnoreTheDownstreamOne() {
        EmbeddedChannel ch = new EmbeddedChannel();
        EventLoop loop = ch.eventLoop();
        Cluster http1 = cluster(ClusterConfig.UpstreamProtocol.HTTP1);
        assertThat(http1.pool(loop, host, false, true)).isSameAs(http1.pool(loop, host, false, false));
        assertThat(http1.pool(loop, host, false, true).getClass().getSimpleName()).isEqualTo("Http1ConnectionPool");
        Cluster http2 = cluster(ClusterConfig.UpstreamProtocol.HTTP2);
        assertThat(http2.pool(loop, host, false, false)).isSameAs(http2.pool(loop, host, false, true));
        assertThat(http2.pool(loop, host, false, false).getClass().getSimpleName()).isEqualTo("Http2ConnectionPool");
        ch.finishAndReleaseAll();
    }
}
