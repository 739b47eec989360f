package dev.trellis.sidecar.observe;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;

/** The JSON access log line: one object per request, fields in a fixed order. */
public final class AccessLogFormat {
    private static final JsonFactory JSON = new JsonFactory();

    private AccessLogFormat() {}

    /** {@code start} is the wall-clock time the request began. */
    public static String line(StreamInfo info, Instant start, String destinationService) {
        StringWriter w = new StringWriter(384);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("timestamp", start.toString());
            str(g, "request_id", info.requestId());
            str(g, "trace_id", info.traceId());
            str(g, "span_id", info.spanId());
            str(g, "method", info.method());
            str(g, "authority", info.authority());
            str(g, "path", info.path());
            str(g, "protocol", info.protocol());
            g.writeNumberField("response_code", info.responseCode());
            g.writeStringField("response_flags", ResponseFlag.render(info.flags()));
            str(g, "grpc_status", info.grpcStatus());
            g.writeNumberField("duration_ms", info.durationNanos() / 1_000_000);
            str(g, "upstream_host", info.upstreamHost());
            g.writeNumberField("attempts", info.attempts());
            g.writeNumberField("bytes_received", info.bytesReceived());
            g.writeNumberField("bytes_sent", info.bytesSent());
            str(g, "source_identity", info.sourceIdentity());
            str(g, "destination_service", destinationService);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /** Envoy prints {@code -} for a missing value; JSON gets {@code null}. */
    private static void str(JsonGenerator g, String name, String v) throws IOException {
        if (v == null || v.equals("-") || v.equals("null")) {
            g.writeNullField(name);
        } else {
            g.writeStringField(name, v);
        }
    }
}
