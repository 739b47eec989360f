package dev.trellis.sidecar.error;

/** Told about every finished stream: metrics now, access logs and tracing later. */
@FunctionalInterface
public interface StreamObserver {
    StreamObserver NONE = info -> { };

    void onComplete(StreamInfo info);
}
