package dev.trellis.bench.jmh;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Why the HTTP/1.1 generator writes a pre-encoded request: the cost of encoding a
 * {@code POST /echo} with Netty's codec each time against duplicating the bytes once encoded.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class Http1RequestBenchmark {
    @Param({"1024"})
    public int payload;

    private EmbeddedChannel encoder;
    private ByteBuf body;
    private ByteBuf preEncoded;

    @Setup
    public void setUp() {
        encoder = new EmbeddedChannel(new HttpRequestEncoder());
        body = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(new byte[payload]).asReadOnly());
        encoder.writeOutbound(request());
        ByteBuf all = Unpooled.buffer();
        ByteBuf part;
        while ((part = encoder.readOutbound()) != null) {
            all.writeBytes(part);
            part.release();
        }
        preEncoded = Unpooled.unreleasableBuffer(all.asReadOnly());
    }

    private FullHttpRequest request() {
        FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/echo", body.duplicate());
        r.headers().set(HttpHeaderNames.HOST, "127.0.0.1:8080")
                .set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, payload);
        return r;
    }

    @Benchmark
    public int encodeWithCodec() {
        encoder.writeOutbound(request());
        int bytes = 0;
        ByteBuf part;
        while ((part = encoder.readOutbound()) != null) {
            bytes += part.readableBytes();
            part.release();
        }
        return bytes;
    }

    @Benchmark
    public int duplicatePreEncoded() {
        ByteBuf d = preEncoded.duplicate();
        return d.readableBytes();
    }

    @TearDown
    public void tearDown() {
        encoder.finishAndReleaseAll();
        assert preEncoded.toString(StandardCharsets.US_ASCII).startsWith("POST /echo");
    }
}
