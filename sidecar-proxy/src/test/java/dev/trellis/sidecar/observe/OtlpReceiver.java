package dev.trellis.sidecar.observe;

import com.sun.net.httpserver.HttpServer;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/**
 * An in-process OTLP collector: the TraceService over real gRPC (grpc-java) and
 * {@code POST /v1/traces} over HTTP, both on port 0, keeping every span it receives.
 */
public final class OtlpReceiver implements AutoCloseable {
    /** A received span with its resource's {@code service.name}, ids in hex. */
    public record Received(String service, String traceId, String spanId, String parentSpanId, String name, Span.SpanKind kind,
                    Map<String, String> attributes) {}

    public final List<Received> spans = new CopyOnWriteArrayList<>();
    private final Server grpc;
    private final HttpServer http;

    public OtlpReceiver() throws IOException {
        grpc = ServerBuilder.forPort(0).addService(new TraceServiceGrpc.TraceServiceImplBase() {
            @Override
            public void export(ExportTraceServiceRequest req, StreamObserver<ExportTraceServiceResponse> out) {
                keep(req);
                out.onNext(ExportTraceServiceResponse.getDefaultInstance());
                out.onCompleted();
            }
        }).build().start();
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        http.createContext("/v1/traces", ex -> {
            try (InputStream in = ex.getRequestBody()) {
                keep(ExportTraceServiceRequest.parseFrom(in.readAllBytes()));
            }
            byte[] b = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
            ex.getResponseHeaders().add("content-type", "application/x-protobuf");
            ex.sendResponseHeaders(200, b.length == 0 ? -1 : b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        http.start();
    }

    public int grpcPort() {
        return grpc.getPort();
    }

    public int httpPort() {
        return http.getAddress().getPort();
    }

    private void keep(ExportTraceServiceRequest req) {
        HexFormat hex = HexFormat.of();
        for (ResourceSpans rs : req.getResourceSpansList()) {
            String service = rs.getResource().getAttributesList().stream()
                    .filter(kv -> kv.getKey().equals("service.name")).map(kv -> kv.getValue().getStringValue())
                    .findFirst().orElse("?");
            for (ScopeSpans ss : rs.getScopeSpansList()) {
                for (Span s : ss.getSpansList()) {
                    spans.add(new Received(service, hex.formatHex(s.getTraceId().toByteArray()),
                            hex.formatHex(s.getSpanId().toByteArray()), hex.formatHex(s.getParentSpanId().toByteArray()),
                            s.getName(), s.getKind(), s.getAttributesList().stream()
                            .collect(Collectors.toMap(KeyValue::getKey, kv -> text(kv.getValue())))));
                }
            }
        }
    }

    private static String text(AnyValue v) {
        return switch (v.getValueCase()) {
            case INT_VALUE -> Long.toString(v.getIntValue());
            case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
            case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
            default -> v.getStringValue();
        };
    }

    public List<Received> trace(String traceId) {
        return spans.stream().filter(s -> s.traceId().equals(traceId)).toList();
    }

    @Override
    public void close() {
        grpc.shutdownNow();
        http.stop(0);
    }
}
