package dev.trellis.bench.scenario;

import dev.trellis.bench.load.Protocol;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * nginx configuration for the {@code nginx} scenario: one hop in the foreground, access log off,
 * keep-alive to clients and a pool of kept-alive upstream connections. HTTP/1.1 and h2c are proxied
 * with {@code proxy_pass} (nginx speaks only HTTP/1.1 to an HTTP upstream, so an h2c run is h2c
 * in and HTTP/1.1 out); gRPC with {@code grpc_pass}, HTTP/2 both ways. All of nginx's files live in
 * {@code prefix}.
 */
public final class NginxConfig {
    private NginxConfig() {}

    public static String oneHop(Protocol protocol, InetSocketAddress listen, InetSocketAddress backend, int workers,
                                Path prefix) {
        String location = protocol == Protocol.GRPC
                ? "            grpc_pass grpc://echo;\n"
                : "            proxy_pass http://echo;\n"
                + "            proxy_http_version 1.1;\n"
                + "            proxy_set_header Connection \"\";\n";
        return "daemon off;\n"
                + "master_process on;\n"
                + "worker_processes " + workers + ";\n"
                + "pid " + prefix.resolve("nginx.pid") + ";\n"
                + "error_log stderr warn;\n"
                + "\n"
                + "events {\n"
                + "    worker_connections 10240;\n"
                + "}\n"
                + "\n"
                + "http {\n"
                + "    access_log off;\n"
                + "    client_body_temp_path " + prefix.resolve("client_body") + ";\n"
                + "    proxy_temp_path " + prefix.resolve("proxy") + ";\n"
                + "    fastcgi_temp_path " + prefix.resolve("fastcgi") + ";\n"
                + "    uwsgi_temp_path " + prefix.resolve("uwsgi") + ";\n"
                + "    scgi_temp_path " + prefix.resolve("scgi") + ";\n"
                + "    client_max_body_size 64m;\n"
                + "    keepalive_timeout 120s;\n"
                + "    keepalive_requests 10000000;\n"
                + "\n"
                + "    upstream echo {\n"
                + "        server " + addr(backend) + ";\n"
                + "        keepalive 128;\n"
                + "        keepalive_requests 10000000;\n"
                + "        keepalive_timeout 120s;\n"
                + "    }\n"
                + "\n"
                + "    server {\n"
                + "        listen " + addr(listen) + (protocol.multiplexed() ? " http2" : "") + ";\n"
                + "        location / {\n"
                + location
                + "        }\n"
                + "    }\n"
                + "}\n";
    }

    private static String addr(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }
}
