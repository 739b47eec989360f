package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.BulkBackend;
import dev.trellis.sidecar.testing.Raw;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.WsEcho;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.internal.PlatformDependent;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bodies stream with bounded memory; WebSocket upgrades become a tunnel. */
class StreamingTest {
    static final long GIB = 1024L * 1024 * 1024;
    static BulkBackend backend;
    static WsEcho ws;
    static Proxy proxy;
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        backend = new BulkBackend();
        ws = new WsEcho();
        proxy = Proxy.start(bootstrap(listener("main", "", vhost(route("/ws", "ws"),
                j("{'match': {'prefix': '/'}, 'route': {'cluster': 'big', 'timeout': '0s'}}"))),
                cluster("big", "", backend.port()) + "," + cluster("ws", "", ws.port())));
    }

    @AfterAll
    static void stop() throws java.io.IOException {
        proxy.close();
        backend.close();
        ws.close();
    }

    /**
     * Peak growth, while {@code body} runs, of the memory Netty holds for buffers: the allocator's
     * used direct + heap memory (only the proxy uses Netty in these tests: backends and clients are
     * plain sockets or the JDK's), and Netty's own count of direct memory where it keeps one.
     */
    static Growth peakAllocatorGrowth(ThrowingRunnable body) throws Exception {
        var metric = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        long base = metric.usedDirectMemory() + metric.usedHeapMemory();
        long directBase = PlatformDependent.usedDirectMemory();
        AtomicLong peak = new AtomicLong();
        AtomicLong directPeak = new AtomicLong(directBase >= 0 ? 0 : -1);
        AtomicBoolean run = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (run.get()) {
                peak.accumulateAndGet(metric.usedDirectMemory() + metric.usedHeapMemory() - base, Math::max);
                if (directBase >= 0) {
                    directPeak.accumulateAndGet(PlatformDependent.usedDirectMemory() - directBase, Math::max);
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();
        try {
            body.run();
        } finally {
            run.set(false);
            sampler.join();
        }
        return new Growth(peak.get(), directPeak.get());
    }

    /** Peak growth of the allocator's used memory, and of Netty's direct memory counter (-1: not kept). */
    record Growth(long allocator, long direct) {
        long max() {
            return Math.max(allocator, direct);
        }

        @Override
        public String toString() {
            return "allocator used memory +" + allocator / 1024 + " KiB, Netty direct memory counter "
                    + (direct < 0 ? "not kept" : "+" + direct / 1024 + " KiB");
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void oneGibUploadStreamsWithBoundedMemory() throws Exception {
        long t0 = System.nanoTime();
        String[] response = new String[1];
        Growth growth = peakAllocatorGrowth(() -> {
            try (Raw raw = new Raw(proxy.port("main"))) {
                raw.send("POST /sink HTTP/1.1\r\nHost: bulk\r\nContent-Length: " + GIB + "\r\n\r\n");
                OutputStream out = raw.socket.getOutputStream();
                byte[] chunk = new byte[1024 * 1024];
                for (long sent = 0; sent < GIB; sent += chunk.length) {
                    out.write(chunk);
                }
                out.flush();
                InputStream in = raw.socket.getInputStream();
                String head = BulkBackend.readHead(in);
                byte[] body = in.readNBytes((int) BulkBackend.contentLength(head));
                response[0] = head.substring(0, head.indexOf("\r\n")) + " " + new String(body, StandardCharsets.US_ASCII);
            }
        });
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("1 GiB upload through the proxy in %d ms, peak growth: %s%n", ms, growth);
        assertThat(response[0]).isEqualTo("HTTP/1.1 200 OK " + GIB);
        assertThat(growth.max()).as(growth.toString()).isLessThan(8L * 1024 * 1024);
    }

    @Test
    void oneGibDownloadStreamsWithBoundedMemory() throws Exception {
        long t0 = System.nanoTime();
        long[] got = new long[1];
        String[] head = new String[1];
        Growth growth = peakAllocatorGrowth(() -> {
            try (Raw raw = new Raw(proxy.port("main"))) {
                raw.send("GET /bytes?n=" + GIB + " HTTP/1.1\r\nHost: bulk\r\n\r\n");
                InputStream in = raw.socket.getInputStream();
                head[0] = BulkBackend.readHead(in);
                got[0] = BulkBackend.drain(in, BulkBackend.contentLength(head[0]), new byte[1024 * 1024]);
            }
        });
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("1 GiB download through the proxy in %d ms, peak growth: %s%n", ms, growth);
        assertThat(head[0]).startsWith("HTTP/1.1 200 OK").containsIgnoringCase("content-length: " + GIB);
        assertThat(got[0]).isEqualTo(GIB);
        assertThat(growth.max()).as(growth.toString()).isLessThan(8L * 1024 * 1024);
    }

    @Test
    void slowReaderPausesTheUpstreamInsteadOfBuffering() throws Exception {
        long size = 64L * 1024 * 1024;
        Growth growth = peakAllocatorGrowth(() -> {
            try (InputStream in = client.send(HttpRequest.newBuilder(proxy.uri("main", "/bytes?n=" + size)).build(),
                    HttpResponse.BodyHandlers.ofInputStream()).body()) {
                Thread.sleep(1500);
                assertThat(in.transferTo(java.io.OutputStream.nullOutputStream())).isEqualTo(size);
            }
        });
        assertThat(growth.max()).as(growth.toString()).isLessThan(16L * 1024 * 1024);
    }

    @Test
    void webSocketUpgradeIsTunnelled() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        CountDownLatch three = new CountDownLatch(3);
        WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + proxy.port("main") + "/ws"), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        got.add(data.toString());
                        three.countDown();
                        webSocket.request(1);
                        return null;
                    }
                }).get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 3; i++) {
            socket.sendText("m" + i, true).get(5, TimeUnit.SECONDS);
        }
        assertThat(three.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(got).containsExactly("echo: m0", "echo: m1", "echo: m2");
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    }
}
