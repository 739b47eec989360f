package dev.trellis.sidecar.error;

import io.netty.handler.codec.http2.Http2Headers;

/**
 * Told about every stream of a listener: when its request headers arrive, at each upstream
 * attempt, and when it is over. Metrics, access logs and tracing hang here. All calls run on
 * the stream's event loop and must not block.
 */
@FunctionalInterface
public interface StreamObserver {
    StreamObserver NONE = info -> { };

    /** Request headers arrived (before the filters): the place to read a trace context. */
    default void onRequestHeaders(StreamInfo info, Http2Headers headers) {
    }

    /**
     * An upstream attempt to {@code upstreamHost} starts; {@code headers} are about to be sent and
     * may be changed (trace context). Called once per attempt, retries included.
     */
    default UpstreamAttemptObserver onUpstreamAttempt(StreamInfo info, String upstreamHost, Http2Headers headers) {
        return UpstreamAttemptObserver.NONE;
    }

    /** The stream is over (response sent, failed or reset). */
    void onComplete(StreamInfo info);

    /**
     * A downstream connection or stream was refused or closed for bad or slow input before any
     * request was formed (malformed HTTP/1 framing, header limits, header-read timeout, HTTP/2
     * floods); {@code reason} is a short snake_case code such as {@code obs_fold}.
     */
    default void onDownstreamProtocolError(String listener, String reason) {}
}
