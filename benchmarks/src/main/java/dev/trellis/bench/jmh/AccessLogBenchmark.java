package dev.trellis.bench.jmh;

import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.observe.AccessLogFormat;
import java.time.Instant;
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

/** One JSON access-log line for a traced, mTLS-authenticated request. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AccessLogBenchmark {
    private StreamInfo info;
    private Instant start;

    @Setup
    public void setUp() {
        info = new StreamInfo(0);
        info.request("GET", "/api/v1/users/42?expand=true", "user-service:8080");
        info.requestId("7b0f5e2c-3d4f-4c1a-9a57-0c4e6f1b2d3a");
        info.trace("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
        info.protocol("HTTP/1.1");
        info.responseCode(200);
        info.upstreamHost("10.0.3.17:15006");
        info.attempt();
        info.addBytesReceived(1024);
        info.addBytesSent(2048);
        info.sourceIdentity("spiffe://trellis.local/ns/default/sa/notification-service");
        info.end(3_250_000);
        start = Instant.parse("2026-12-02T08:00:00.123456Z");
    }

    @Benchmark
    public String line() {
        return AccessLogFormat.line(info, start, "user-service");
    }
}
