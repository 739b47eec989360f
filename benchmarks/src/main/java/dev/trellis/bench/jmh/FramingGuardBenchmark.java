package dev.trellis.bench.jmh;

import dev.trellis.sidecar.http.Http1FramingGuard;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The HTTP/1 framing guard on one keep-alive connection: a typical request of 11 headers and a
 * 1 KiB body per read, from a direct buffer as the socket delivers it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class FramingGuardBenchmark {
    private EmbeddedChannel channel;
    private ByteBuf request;

    @Setup
    public void setUp() {
        String head = "POST /users/42 HTTP/1.1\r\n"
                + "Host: user-service:8080\r\n"
                + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench/1.0\r\n"
                + "Accept: application/json\r\n"
                + "Accept-Encoding: gzip, deflate\r\n"
                + "Content-Type: application/json\r\n"
                + "Content-Length: 1024\r\n"
                + "Connection: keep-alive\r\n"
                + "Keep-Alive: timeout=5\r\n"
                + "Cookie: session=3f2a9c; theme=dark; lang=en\r\n"
                + "X-Request-Id: 7b0f5e2c-3d4f-4c1a-9a57-0c4e6f1b2d3a\r\n"
                + "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
                + "\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        request = Unpooled.directBuffer(h.length + 1024).writeBytes(h).writeZero(1024);
        // The sink releases what the guard passes on, so the channel's inbound queue stays empty.
        channel = new EmbeddedChannel(new Http1FramingGuard(64 * 1024), new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        });
    }

    @TearDown
    public void tearDown() {
        channel.finishAndReleaseAll();
        request.release();
    }

    @Benchmark
    public boolean request() {
        request.retain().readerIndex(0);
        channel.writeInbound(request);
        return channel.isOpen();
    }
}
