package dev.trellis.sidecar.xds;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An app behind a sidecar (the JDK's HTTP server on 127.0.0.1, port 0): {@code /health} answers
 * 200 or 503 as set, everything else answers {@code <name>} with the path in {@code x-path}.
 */
final class TestApp implements AutoCloseable {
    final String name;
    final AtomicInteger requests = new AtomicInteger();
    private final HttpServer server;
    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    private volatile int health = 200;
    /** The {@code traceparent} of the last request (null without one). */
    volatile String lastTraceparent;

    TestApp(String name) throws IOException {
        this.name = name;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
        server.setExecutor(pool);
        server.createContext("/", ex -> {
            try (InputStream in = ex.getRequestBody(); OutputStream out = ex.getResponseBody()) {
                in.transferTo(OutputStream.nullOutputStream());
                if (ex.getRequestURI().getPath().equals("/health")) {
                    ex.sendResponseHeaders(health, -1);
                    return;
                }
                requests.incrementAndGet();
                lastTraceparent = ex.getRequestHeaders().getFirst("traceparent");
                byte[] b = name.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("x-path", ex.getRequestURI().getPath());
                ex.getResponseHeaders().add("x-host", String.valueOf(ex.getRequestHeaders().getFirst("host")));
                ex.sendResponseHeaders(200, b.length);
                out.write(b);
            }
        });
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    void health(int status) {
        health = status;
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
