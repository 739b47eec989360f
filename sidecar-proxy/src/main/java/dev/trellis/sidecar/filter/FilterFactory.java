package dev.trellis.sidecar.filter;

/** Makes one filter per stream from config shared (immutably) by all streams. */
@FunctionalInterface
public interface FilterFactory {
    HttpFilter create();
}
