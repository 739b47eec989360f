package dev.trellis.sidecar.error;

/** Told about every finished stream: metrics now, access logs and tracing later. */
@FunctionalInterface
public interface StreamObserver {
    StreamObserver NONE = info -> { };

    void onComplete(StreamInfo info);

    /**
     * A downstream connection or stream was refused or closed for bad or slow input before any
     * request was formed (malformed HTTP/1 framing, header limits, header-read timeout, HTTP/2
     * floods); {@code reason} is a short snake_case code such as {@code obs_fold}.
     */
    default void onDownstreamProtocolError(String listener, String reason) {}
}
