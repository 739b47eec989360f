package dev.trellis.sidecar.testing;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/** A real HTTPS server on port 0 that serves a JWKS document (replaceable) at {@code /jwks} and counts fetches. */
public final class JwksServer implements AutoCloseable {
    private final HttpsServer server;
    private final ExecutorService pool = Executors.newSingleThreadExecutor();
    public final AtomicInteger fetches = new AtomicInteger();
    private volatile String jwks;

    public JwksServer(SSLContext tls, String jwks) throws IOException {
        this.jwks = jwks;
        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.setHttpsConfigurator(new HttpsConfigurator(tls));
        server.setExecutor(pool);
        server.createContext("/jwks", ex -> {
            fetches.incrementAndGet();
            byte[] b = this.jwks.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("content-type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            try (var out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        server.start();
    }

    public void serve(String jwks) {
        this.jwks = jwks;
    }

    public String uri() {
        return "https://127.0.0.1:" + server.getAddress().getPort() + "/jwks";
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
