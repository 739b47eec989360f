package dev.trellis.bench.jmh;

import dev.trellis.bench.backend.EchoServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The echo backend's own cost per HTTP/1.1 request (decode, aggregate, answer, encode) on an
 * {@code EmbeddedChannel}: the floor under every scenario's latency and CPU.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class EchoBackendBenchmark {
    private EmbeddedChannel channel;
    private ByteBuf request;

    @Setup
    public void setUp() {
        channel = new EmbeddedChannel(EchoServer.connectionHandler());
        byte[] body = new byte[1024];
        String head = "POST /echo HTTP/1.1\r\nHost: b\r\nContent-Length: " + body.length + "\r\n\r\n";
        ByteBuf b = Unpooled.buffer();
        b.writeCharSequence(head, StandardCharsets.US_ASCII);
        b.writeBytes(body);
        request = Unpooled.unreleasableBuffer(b.asReadOnly());
    }

    @Benchmark
    public int http1Echo() {
        channel.writeInbound(request.duplicate());
        int bytes = 0;
        Object out;
        while ((out = channel.readOutbound()) != null) {
            ByteBuf buf = (ByteBuf) out;
            bytes += buf.readableBytes();
            buf.release();
        }
        return bytes;
    }

    @TearDown
    public void tearDown() {
        channel.finishAndReleaseAll();
    }
}
