package dev.trellis.demo.notification.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's HTTP/1.1 server: the JDK's {@code HttpServer} on a bounded thread pool, with
 * {@code /health} and {@code /ready}, request ids and trace context in the logging MDC, JSON error
 * bodies mapped in one place, and a graceful stop (draining, then refusing new requests, then
 * waiting for the ones in flight).
 */
public final class HttpService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpService.class);
    private static final Logger accessLog = LoggerFactory.getLogger("access");
    private static final int MAX_BODY_BYTES = 1 << 20;

    private final String serviceName;
    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final Router router;
    private final BooleanSupplier ready;
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean refusing = new AtomicBoolean();
    private final AtomicInteger inFlight = new AtomicInteger();

    private HttpService(String serviceName, HttpServer server, ThreadPoolExecutor executor, Router router,
                        BooleanSupplier ready) {
        this.serviceName = serviceName;
        this.server = server;
        this.executor = executor;
        this.router = router;
        this.ready = ready;
    }

    /**
     * Binds {@code host:port} (0 for any free port) and starts serving.
     *
     * @param ready whether the rest of the service is ready; {@code /ready} also needs the server bound and not draining
     */
    public static HttpService start(String serviceName, String host, int port, int threads, Router router,
                                    BooleanSupplier ready) throws IOException {
        if (threads < 1) {
            throw new IllegalArgumentException("http threads: " + threads + " (expected: >= 1)");
        }
        HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 256);
        // Bounded: when every worker is busy and the queue is full, the accepting thread runs the
        // request itself, which stops it from accepting more (backpressure instead of unbounded queueing).
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(threads * 8), r -> {
                    Thread t = new Thread(r, serviceName + "-http");
                    t.setDaemon(true);
                    return t;
                }, new ThreadPoolExecutor.CallerRunsPolicy());
        HttpService service = new HttpService(serviceName, server, executor, router, ready);
        server.createContext("/", service::handle);
        server.setExecutor(executor);
        server.start();
        return service;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public boolean isDraining() {
        return draining.get();
    }

    /** From now on {@code /ready} answers 503 so that load balancers stop sending; requests are still served. */
    public void beginDrain() {
        draining.set(true);
    }

    /**
     * Stops: refuses new requests (503, connection closed), waits up to {@code timeout} for the
     * requests in flight, then closes the listener and every connection.
     */
    public void stop(Duration timeout) {
        draining.set(true);
        refusing.set(true);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (inFlight.get() > 0) {
            log.warn("{}: {} request(s) still in flight after {} ms; closing anyway", serviceName, inFlight.get(),
                    timeout.toMillis());
        }
        // in flight is 0 now, so stop(0) closes only idle connections
        server.stop(0);
        executor.shutdown();
        try {
            executor.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(5));
    }

    private void handle(HttpExchange exchange) {
        long start = System.nanoTime();
        inFlight.incrementAndGet();
        TraceHeaders trace = TraceHeaders.from(exchange.getRequestHeaders()::getFirst);
        trace.putMdc();
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getRawPath();
        Response response;
        boolean close = false;
        try {
            if (refusing.get()) {
                close = true;
                response = error(new ApiException(503, serviceName + " is shutting down"));
            } else {
                response = dispatch(exchange, method, path, trace);
            }
        } catch (ApiException e) {
            response = error(e);
        } catch (Exception e) {
            log.error("{} {} failed", method, path, e);
            response = error(new ApiException(500, "internal error: " + e.getClass().getSimpleName()));
        }
        try {
            write(exchange, response.withHeader("x-request-id", trace.requestId()), close);
        } catch (IOException e) {
            log.debug("{} {}: could not write the response: {}", method, path, e.toString());
        } finally {
            exchange.close();
            inFlight.decrementAndGet();
            if (!path.equals("/health") && !path.equals("/ready")) {
                accessLog.info("{} {} {} {}ms", method, path, response.status(),
                        (System.nanoTime() - start) / 1_000_000);
            }
            TraceHeaders.clearMdc();
        }
    }

    private Response dispatch(HttpExchange exchange, String method, String path, TraceHeaders trace) throws Exception {
        if (path.equals("/health")) {
            return Response.json(200, Map.of("status", "UP"));
        }
        if (path.equals("/ready")) {
            boolean ok = !draining.get() && ready.getAsBoolean();
            return Response.json(ok ? 200 : 503, Map.of("status", ok ? "READY" : draining.get() ? "DRAINING" : "STARTING"));
        }
        Router.Match match = router.match(method, path);
        byte[] body = readBody(exchange);
        Request request = new Request(method, path, Request.parseQuery(exchange.getRequestURI().getRawQuery()),
                match.pathParams(), body, trace);
        return match.handler().handle(request);
    }

    private static byte[] readBody(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
            if (body.length > MAX_BODY_BYTES) {
                throw new ApiException(413, "body: more than " + MAX_BODY_BYTES + " bytes");
            }
            return body;
        }
    }

    private static Response error(ApiException e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", e.getMessage());
        if (!e.fields().isEmpty()) {
            body.put("fields", e.fields());
        }
        return Response.json(e.status(), body);
    }

    private static void write(HttpExchange exchange, Response response, boolean close) throws IOException {
        byte[] bytes;
        try {
            bytes = response.body() == null ? new byte[0] : Json.MAPPER.writeValueAsBytes(response.body());
        } catch (JsonProcessingException e) {
            throw new IOException("could not render the response body", e);
        }
        var headers = exchange.getResponseHeaders();
        response.headers().forEach(headers::set);
        if (bytes.length > 0) {
            headers.set("Content-Type", "application/json");
        }
        if (close) {
            headers.set("Connection", "close");
        }
        boolean noBody = bytes.length == 0 || exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(response.status(), noBody ? -1 : bytes.length);
        if (!noBody) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

}
