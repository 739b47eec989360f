package dev.trellis.bench.jmh;

import dev.trellis.sidecar.http.HeaderConversion;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Header conversion between an HTTP/1.1 message and the HTTP/2 form the sidecar uses inside, for a
 * typical API request of 11 headers (hop-by-hop ones, a three-part cookie, trace context). Names
 * are {@link AsciiString}s and values Strings, as Netty's HTTP/1 decoder gives them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HeaderConversionBenchmark {
    private HttpHeaders http1;
    private Http2Headers http2;

    @Setup
    public void setUp() {
        http1 = DefaultHttpHeadersFactory.headersFactory().newHeaders()
                .add(AsciiString.of("Host"), "user-service:8080")
                .add(AsciiString.of("User-Agent"), "Mozilla/5.0 (X11; Linux x86_64) bench/1.0")
                .add(AsciiString.of("Accept"), "application/json")
                .add(AsciiString.of("Accept-Encoding"), "gzip, deflate")
                .add(AsciiString.of("Content-Type"), "application/json")
                .add(AsciiString.of("Content-Length"), "1024")
                .add(AsciiString.of("Connection"), "keep-alive")
                .add(AsciiString.of("Keep-Alive"), "timeout=5")
                .add(AsciiString.of("Cookie"), "session=3f2a9c; theme=dark; lang=en")
                .add(AsciiString.of("X-Request-Id"), "7b0f5e2c-3d4f-4c1a-9a57-0c4e6f1b2d3a")
                .add(AsciiString.of("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        http2 = HeaderConversion.toHttp2(http1, HeaderConversion.newHeaders(), false);
        http2.method("GET").scheme("http").authority("user-service:8080").path("/users/42");
    }

    @Benchmark
    public Http2Headers http1ToHttp2() {
        return HeaderConversion.toHttp2(http1, HeaderConversion.newHeaders(), false);
    }

    @Benchmark
    public HttpHeaders http2ToHttp1() {
        return HeaderConversion.toHttp1(http2, HeaderConversion.newHttp1Headers());
    }
}
