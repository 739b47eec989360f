package dev.trellis.bench.scenario;

import dev.trellis.bench.load.Protocol;
import java.net.InetSocketAddress;

/**
 * HAProxy configurations for the {@code haproxy} and {@code haproxy-mtls} scenarios, tuned the way
 * a careful operator would for a sidecar-like hop: HTTP mode, keep-alive both ways, connection
 * reuse to the backend, no logging, {@code threads} threads. HTTP/2 and gRPC use HTTP/2 on both
 * sides; the mTLS hop is TLS 1.3 with client certificates checked against the test CA.
 */
public final class HaproxyConfig {
    private HaproxyConfig() {}

    /** One hop: plaintext listener -> backend. */
    public static String oneHop(Protocol protocol, InetSocketAddress listen, InetSocketAddress backend, int threads) {
        return header(threads)
                + "frontend bench_in\n"
                + "    bind " + addr(listen) + h2(protocol) + "\n"
                + "    default_backend echo\n\n"
                + "backend echo\n"
                + "    server echo1 " + addr(backend) + h2(protocol) + "\n";
    }

    /** Client side of the mTLS pair: plaintext listener -> mTLS to {@code upstream}. */
    public static String mtlsClientSide(Protocol protocol, InetSocketAddress listen, InetSocketAddress upstream,
                                        TestPki.Files pki, int threads) {
        return header(threads)
                + "frontend bench_out\n"
                + "    bind " + addr(listen) + h2(protocol) + "\n"
                + "    default_backend mesh_peer\n\n"
                + "backend mesh_peer\n"
                + "    server peer1 " + addr(upstream) + " ssl crt " + pki.clientBundle() + " ca-file " + pki.ca()
                + " verify required sni str(localhost) ssl-min-ver TLSv1.3 alpn " + alpn(protocol) + h2(protocol) + "\n";
    }

    /** Server side of the mTLS pair: mTLS listener (client certificate required) -> backend. */
    public static String mtlsServerSide(Protocol protocol, InetSocketAddress listen, InetSocketAddress backend,
                                        TestPki.Files pki, int threads) {
        return header(threads)
                + "frontend bench_in\n"
                + "    bind " + addr(listen) + " ssl crt " + pki.serverBundle() + " ca-file " + pki.ca()
                + " verify required ssl-min-ver TLSv1.3 alpn h2,http/1.1\n"
                + "    default_backend echo\n\n"
                + "backend echo\n"
                + "    server echo1 " + addr(backend) + h2(protocol) + "\n";
    }

    private static String header(int threads) {
        return "global\n"
                + "    nbthread " + threads + "\n"
                + "    maxconn 4096\n"
                + "\n"
                + "defaults\n"
                + "    mode http\n"
                + "    option http-keep-alive\n"
                + "    http-reuse always\n"
                + "    timeout connect 5s\n"
                + "    timeout client 60s\n"
                + "    timeout server 60s\n"
                + "    timeout http-keep-alive 60s\n"
                + "\n";
    }

    private static String h2(Protocol p) {
        return p.multiplexed() ? " proto h2" : "";
    }

    private static String alpn(Protocol p) {
        return p.multiplexed() ? "h2" : "http/1.1";
    }

    private static String addr(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }
}
