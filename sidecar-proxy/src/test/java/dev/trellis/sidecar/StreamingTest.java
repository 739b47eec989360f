package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.WsEcho;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.InputStream;
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
    static Backend backend;
    static WsEcho ws;
    static Proxy proxy;
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        backend = new Backend("big");
        ws = new WsEcho();
        proxy = Proxy.start(bootstrap(listener("main", "", vhost(route("/ws", "ws"),
                j("{'match': {'prefix': '/'}, 'route': {'cluster': 'big', 'timeout': '0s'}}"))),
                cluster("big", "", backend.port()) + "," + cluster("ws", "", ws.port())));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        backend.close();
        ws.close();
    }

    /** Samples the proxy allocator's reserved direct + heap memory while {@code body} runs. */
    static long peakAllocatorGrowth(ThrowingRunnable body) throws Exception {
        var metric = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        long base = metric.usedDirectMemory() + metric.usedHeapMemory();
        AtomicLong peak = new AtomicLong();
        AtomicBoolean run = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (run.get()) {
                peak.accumulateAndGet(metric.usedDirectMemory() + metric.usedHeapMemory() - base, Math::max);
                try {
                    Thread.sleep(5);
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
        return peak.get();
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    static InputStream zeros(long n) {
        return new InputStream() {
            long left = n;

            @Override
            public int read() {
                if (left == 0) {
                    return -1;
                }
                left--;
                return 0;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left == 0) {
                    return -1;
                }
                int k = (int) Math.min(len, left);
                java.util.Arrays.fill(b, off, off + k, (byte) 0);
                left -= k;
                return k;
            }
        };
    }

    @Test
    void oneGibUploadStreamsWithBoundedMemory() throws Exception {
        long t0 = System.nanoTime();
        String[] body = new String[1];
        long growth = peakAllocatorGrowth(() -> body[0] = client.send(HttpRequest.newBuilder(proxy.uri("main", "/sink"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> zeros(GIB))).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        System.out.printf("1 GiB upload through the proxy in %d ms, allocator growth %d KiB%n", (System.nanoTime() - t0) / 1_000_000, growth / 1024);
        assertThat(body[0]).isEqualTo(Long.toString(GIB));
        assertThat(growth).isLessThan(16L * 1024 * 1024);
    }

    @Test
    void quarterGibDownloadStreamsWithBoundedMemory() throws Exception {
        long t0 = System.nanoTime();
        long[] got = new long[1];
        long growth = peakAllocatorGrowth(() -> {
            try (InputStream in = client.send(HttpRequest.newBuilder(proxy.uri("main", "/bytes?n=" + GIB / 4)).build(),
                    HttpResponse.BodyHandlers.ofInputStream()).body()) {
                byte[] buf = new byte[256 * 1024];
                int r;
                while ((r = in.read(buf)) >= 0) {
                    got[0] += r;
                }
            }
        });
        System.out.printf("256 MiB download through the proxy in %d ms, allocator growth %d KiB%n", (System.nanoTime() - t0) / 1_000_000, growth / 1024);
        assertThat(got[0]).isEqualTo(GIB / 4);
        assertThat(growth).isLessThan(16L * 1024 * 1024);
    }

    @Test
    void slowReaderPausesTheUpstreamInsteadOfBuffering() throws Exception {
        long size = 64L * 1024 * 1024;
        long growth = peakAllocatorGrowth(() -> {
            try (InputStream in = client.send(HttpRequest.newBuilder(proxy.uri("main", "/bytes?n=" + size)).build(),
                    HttpResponse.BodyHandlers.ofInputStream()).body()) {
                Thread.sleep(1500);
                assertThat(in.transferTo(java.io.OutputStream.nullOutputStream())).isEqualTo(size);
            }
        });
        assertThat(growth).isLessThan(16L * 1024 * 1024);
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
