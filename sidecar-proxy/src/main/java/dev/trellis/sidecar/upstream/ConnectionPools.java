package dev.trellis.sidecar.upstream;

import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.cluster.ResourceManager;
import dev.trellis.sidecar.config.ClusterConfig;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;

/** Makes the pool matching a cluster's upstream protocol. */
public final class ConnectionPools {
    private ConnectionPools() {}

    public static ConnectionPool create(EventLoop loop, Host host, ClusterConfig cluster, SslContext ssl) {
        return create(loop, host, cluster, ssl, new ResourceManager(cluster.circuitBreakers()));
    }

    /** A pool whose connections and waiting requests count against {@code resources}. */
    public static ConnectionPool create(EventLoop loop, Host host, ClusterConfig cluster, SslContext ssl,
                                        ResourceManager resources) {
        return create(loop, host, cluster, ssl, resources, cluster.protocol() == ClusterConfig.UpstreamProtocol.HTTP2);
    }

    /** An HTTP/2 or HTTP/1 pool as {@code http2} says ({@code ssl} must offer the matching ALPN). */
    public static ConnectionPool create(EventLoop loop, Host host, ClusterConfig cluster, SslContext ssl,
                                        ResourceManager resources, boolean http2) {
        return http2
                ? new Http2ConnectionPool(loop, host, cluster, ssl, resources)
                : new Http1ConnectionPool(loop, host, cluster, ssl, resources);
    }
}
