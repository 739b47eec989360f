package dev.trellis.sidecar.internal;

import io.netty.channel.ChannelHandler;
import io.netty.handler.flush.FlushConsolidationHandler;

/**
 * Batches the flushes a connection gets in one event-loop turn into one write. The proxy writes
 * a message as head and body (two flushes) while it reads the other side's connection; without
 * batching each flush is its own {@code send} (and TLS record), which doubles the syscalls and
 * the peer's wake-ups per request. Deferred flushes run as a task right after the loop's current
 * I/O batch, or at the end of the connection's own read; a connection that stops being writable
 * is flushed at once, so back-pressure and memory bounds are unchanged.
 */
public final class FlushBatching {
    /** The handler's name in a pipeline. */
    public static final String NAME = "flush-batch";
    /** After this many deferred flushes in one turn the data is written anyway. */
    static final int MAX_DEFERRED_FLUSHES = 64;

    private FlushBatching() {}

    /**
     * A new handler (it keeps per-connection state); place it next to the socket, or right after
     * the TLS handler so that one flush makes one TLS record.
     */
    public static ChannelHandler handler() {
        return new FlushConsolidationHandler(MAX_DEFERRED_FLUSHES, true);
    }
}
