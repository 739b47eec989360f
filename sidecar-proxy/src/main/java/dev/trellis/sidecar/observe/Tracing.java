package dev.trellis.sidecar.observe;

import dev.trellis.sidecar.config.TelemetryConfig;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.error.UpstreamAttemptObserver;
import io.netty.handler.codec.http2.Http2Headers;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.extension.trace.propagation.B3Propagator;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * OpenTelemetry tracing of one listener: a server span per request, a client span per upstream
 * attempt. Reads W3C {@code traceparent}/{@code tracestate} and B3 (single {@code b3} or
 * multi {@code X-B3-*}) and writes all of them upstream. Spans go through a batch processor
 * with a bounded queue to an OTLP exporter, so ending a span never blocks the event loop.
 */
public final class Tracing implements AutoCloseable {
    /** Bound of the span queue; spans beyond it are dropped by the batch processor. */
    public static final int MAX_QUEUE = 2048;
    static final Duration EXPORT_DELAY = Duration.ofMillis(500);

    static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
    static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
    static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
    static final AttributeKey<String> PROTOCOL_VERSION = AttributeKey.stringKey("network.protocol.version");
    static final AttributeKey<String> FLAGS = AttributeKey.stringKey("trellis.response_flags");
    static final AttributeKey<String> UPSTREAM_HOST = AttributeKey.stringKey("trellis.upstream.host");
    static final AttributeKey<String> UPSTREAM_CLUSTER = AttributeKey.stringKey("trellis.upstream.cluster");
    static final AttributeKey<String> PEER_IDENTITY = AttributeKey.stringKey("trellis.peer.identity");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("trellis.request_id");
    static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("trellis.attempt");

    /** The headers this class reads and rewrites. */
    static final List<String> PROPAGATION_HEADERS = List.of("traceparent", "tracestate", "b3", "x-b3-traceid",
            "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags");

    static final TextMapPropagator PROPAGATOR = TextMapPropagator.composite(W3CTraceContextPropagator.getInstance(),
            B3Propagator.injectingSingleHeader(), B3Propagator.injectingMultiHeaders());

    private static final TextMapGetter<Http2Headers> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Http2Headers h) {
            List<String> out = new ArrayList<>();
            h.names().forEach(n -> out.add(n.toString()));
            return out;
        }

        @Override
        public String get(Http2Headers h, String key) {
            if (h == null) {
                return null;
            }
            CharSequence v = h.get(key.toLowerCase(Locale.ROOT));
            return v == null ? null : v.toString();
        }
    };
    private static final TextMapSetter<Http2Headers> SETTER = (h, k, v) -> h.set(k.toLowerCase(Locale.ROOT), v);

    private final SdkTracerProvider provider;
    private final Tracer tracer;

    private Tracing(SdkTracerProvider provider) {
        this.provider = provider;
        this.tracer = provider.get("dev.trellis.sidecar");
    }

    /** A tracer exporting to {@code p} that samples new traces at {@code ratio}, following a caller's decision. */
    public static Tracing create(TelemetryConfig.Provider p, double ratio, String defaultService) {
        SpanExporter exporter = switch (p.protocol()) {
            case GRPC -> OtlpGrpcSpanExporter.builder().setEndpoint(p.endpoint().toString())
                    .setTimeout(p.timeout()).build();
            case HTTP -> OtlpHttpSpanExporter.builder().setEndpoint(p.endpoint().toString())
                    .setTimeout(p.timeout()).build();
        };
        return create(exporter, ratio, p.serviceName().orElse(defaultService));
    }

    /** A tracer with a given exporter (tests use in-memory ones). */
    public static Tracing create(SpanExporter exporter, double ratio, String service) {
        SdkTracerProvider provider = SdkTracerProvider.builder()
                .setResource(Resource.getDefault().merge(Resource.create(
                        Attributes.of(AttributeKey.stringKey("service.name"), service))))
                .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(ratio)))
                .addSpanProcessor(BatchSpanProcessor.builder(exporter)
                        .setMaxQueueSize(MAX_QUEUE)
                        .setMaxExportBatchSize(512)
                        .setScheduleDelay(EXPORT_DELAY)
                        .build())
                .build();
        return new Tracing(provider);
    }

    /** Starts the server span from the request's trace context (or a new trace). */
    void startServer(StreamInfo info, Http2Headers h) {
        Context parent = PROPAGATOR.extract(Context.root(), h, GETTER);
        String path = info.path();
        int q = path.indexOf('?');
        Span span = tracer.spanBuilder(info.method())
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute(METHOD, info.method())
                .setAttribute(URL_PATH, q < 0 ? path : path.substring(0, q))
                .setAttribute(SERVER_ADDRESS, stripPort(info.authority()))
                .setAttribute(PROTOCOL_VERSION, protocolVersion(info.protocol()))
                .startSpan();
        info.telemetry(span);
        info.trace(span.getSpanContext().getTraceId(), span.getSpanContext().getSpanId());
    }

    /** Starts a client span for one upstream attempt and writes its context into {@code h}. */
    UpstreamAttemptObserver startClient(StreamInfo info, String upstreamHost, Http2Headers h) {
        Span server = info.telemetry() instanceof Span s ? s : Span.getInvalid();
        String path = String.valueOf(h.path());
        int q = path.indexOf('?');
        int colon = upstreamHost.lastIndexOf(':');
        Span span = tracer.spanBuilder(info.method() + " " + info.cluster())
                .setParent(Context.root().with(server))
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(METHOD, info.method())
                .setAttribute(URL_PATH, q < 0 ? path : path.substring(0, q))
                .setAttribute(SERVER_ADDRESS, colon > 0 ? upstreamHost.substring(0, colon) : upstreamHost)
                .setAttribute(SERVER_PORT, colon > 0 ? Long.parseLong(upstreamHost.substring(colon + 1)) : 0L)
                .setAttribute(UPSTREAM_HOST, upstreamHost)
                .setAttribute(UPSTREAM_CLUSTER, info.cluster())
                .setAttribute(ATTEMPT, (long) info.attempts())
                .startSpan();
        for (String name : PROPAGATION_HEADERS) {
            h.remove(name);
        }
        PROPAGATOR.inject(Context.root().with(span), h, SETTER);
        return (code, failure) -> {
            if (code > 0) {
                span.setAttribute(STATUS, (long) code);
            }
            span.setAttribute(FLAGS, failure == null ? "-" : failure.name());
            if (failure != null || code >= 500) {
                span.setStatus(StatusCode.ERROR, failure == null ? "" : failure.name());
            }
            span.end();
        };
    }

    /** Ends the server span with the outcome. */
    void endServer(StreamInfo info) {
        if (!(info.telemetry() instanceof Span span)) {
            return;
        }
        if (!"-".equals(info.route())) {
            span.updateName(info.method() + " " + info.route());
        }
        span.setAttribute(STATUS, (long) info.responseCode());
        span.setAttribute(FLAGS, ResponseFlag.render(info.flags()));
        span.setAttribute(UPSTREAM_HOST, info.upstreamHost());
        if (!"-".equals(info.sourceIdentity())) {
            span.setAttribute(PEER_IDENTITY, info.sourceIdentity());
        }
        if (!"-".equals(info.requestId())) {
            span.setAttribute(REQUEST_ID, info.requestId());
        }
        if (info.responseCode() >= 500 || info.responseCode() == 0 || !info.flags().isEmpty()) {
            span.setStatus(StatusCode.ERROR, ResponseFlag.render(info.flags()));
        }
        span.end();
    }

    static String protocolVersion(String protocol) {
        return protocol.startsWith("HTTP/") ? protocol.substring(5) : protocol;
    }

    private static String stripPort(String authority) {
        int c = authority.lastIndexOf(':');
        return c > 0 && authority.indexOf(']') < c ? authority.substring(0, c) : authority;
    }

    /** Exports what is queued, waiting at most {@code timeout}. */
    public void flush(Duration timeout) {
        provider.forceFlush().join(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        provider.shutdown().join(5, TimeUnit.SECONDS);
    }
}
