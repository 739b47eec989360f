package dev.trellis.sidecar.testing;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP/1.1 backend (the JDK's server): {@code /echo} answers with the request's headers
 * and body, {@code /slow?ms=N} waits, {@code /bytes?n=N} streams N bytes, {@code /sink} counts
 * the request body. Counts requests and distinct client connections.
 */
public final class Backend implements AutoCloseable {
    public final HttpServer server;
    public final AtomicInteger requests = new AtomicInteger();
    public final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
    public final String name;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    public Backend(String name) throws IOException {
        this.name = name;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        requests.incrementAndGet();
        clientPorts.add(ex.getRemoteAddress().getPort());
        String path = ex.getRequestURI().getPath();
        Map<String, String> q = query(ex.getRequestURI().getRawQuery());
        Headers rh = ex.getResponseHeaders();
        rh.add("x-backend", name);
        rh.add("x-uri", ex.getRequestURI().toString());
        rh.add("x-method", ex.getRequestMethod());
        try (InputStream in = ex.getRequestBody(); OutputStream out = ex.getResponseBody()) {
            if (path.startsWith("/slow")) {
                try {
                    Thread.sleep(Long.parseLong(q.getOrDefault("ms", "1000")));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                in.transferTo(OutputStream.nullOutputStream());
                ex.sendResponseHeaders(200, -1);
            } else if (path.startsWith("/bytes")) {
                long n = Long.parseLong(q.getOrDefault("n", "0"));
                in.transferTo(OutputStream.nullOutputStream());
                ex.sendResponseHeaders(200, 0);
                byte[] buf = new byte[64 * 1024];
                while (n > 0) {
                    int k = (int) Math.min(buf.length, n);
                    out.write(buf, 0, k);
                    n -= k;
                }
            } else if (path.startsWith("/sink")) {
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                int r;
                while ((r = in.read(buf)) > 0) {
                    total += r;
                }
                byte[] b = Long.toString(total).getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                out.write(b);
            } else if (path.startsWith("/status")) {
                in.transferTo(OutputStream.nullOutputStream());
                ex.sendResponseHeaders(Integer.parseInt(q.getOrDefault("code", "200")), -1);
            } else {
                byte[] body = in.readAllBytes();
                StringBuilder sb = new StringBuilder();
                Map<String, String> sorted = new TreeMap<>();
                ex.getRequestHeaders().forEach((k, v) -> sorted.put(k.toLowerCase(), String.join("|", v)));
                sorted.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
                sb.append('\n').append(new String(body, StandardCharsets.UTF_8));
                byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                out.write(b);
            }
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> m = new TreeMap<>();
        if (raw != null) {
            for (String p : raw.split("&")) {
                int eq = p.indexOf('=');
                if (eq > 0) {
                    m.put(p.substring(0, eq), p.substring(eq + 1));
                }
            }
        }
        return m;
    }

    /** Parses the {@code /echo} body's header lines. */
    public static Map<String, String> echoedHeaders(String body) {
        Map<String, String> m = new TreeMap<>();
        for (String line : body.split("\n")) {
            if (line.isEmpty()) {
                break;
            }
            int eq = line.indexOf('=');
            m.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return m;
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}
