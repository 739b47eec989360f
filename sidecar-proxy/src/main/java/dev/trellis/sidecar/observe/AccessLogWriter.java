package dev.trellis.sidecar.observe;

import dev.trellis.sidecar.internal.DaemonThreads;
import io.micrometer.core.instrument.Counter;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes access log lines on its own thread. Requests only offer a line to a bounded queue:
 * when the sink is slow or stuck the queue fills and further lines are dropped and counted,
 * so a log sink never slows requests down.
 */
public final class AccessLogWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AccessLogWriter.class);
    /** Default queue length in lines. */
    public static final int DEFAULT_CAPACITY = 8192;

    /** Opens the sink; runs on the writer thread, so it may block (a FIFO without reader does). */
    @FunctionalInterface
    public interface Sink {
        OutputStream open() throws IOException;
    }

    private final String name;
    private final Sink sink;
    private final BlockingQueue<String> queue;
    private final Counter dropped;
    private final Counter written;
    private final Thread thread;
    private volatile boolean closed;
    private long lastErrorLog;

    public AccessLogWriter(String name, Sink sink, int capacity, Counter dropped, Counter written) {
        this.name = name;
        this.sink = sink;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.dropped = dropped;
        this.written = written;
        this.thread = DaemonThreads.start("trellis-access-log", this::run);
    }

    public String name() {
        return name;
    }

    /** Queues one line (without newline); never blocks. Returns false when it was dropped. */
    public boolean offer(String line) {
        if (closed || !queue.offer(line)) {
            dropped.increment();
            return false;
        }
        return true;
    }

    /** Lines waiting to be written. */
    public int queued() {
        return queue.size();
    }

    private void run() {
        OutputStream out = null;
        while (!closed || !queue.isEmpty()) {
            String line;
            try {
                line = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                if (closed) {
                    break;
                }
                continue;
            }
            if (line == null) {
                continue;
            }
            try {
                if (out == null) {
                    out = new BufferedOutputStream(sink.open(), 64 * 1024);
                }
                out.write(line.getBytes(StandardCharsets.UTF_8));
                out.write('\n');
                written.increment();
                if (queue.isEmpty()) {
                    out.flush();
                }
            } catch (IOException e) {
                dropped.increment();
                long now = System.nanoTime();
                if (now - lastErrorLog > TimeUnit.SECONDS.toNanos(10)) {
                    lastErrorLog = now;
                    log.warn("access log '{}': {} (lines are dropped until it works again)", name, e.toString());
                }
                out = closeQuietly(out);
            }
        }
        closeQuietly(out);
    }

    private static OutputStream closeQuietly(OutputStream out) {
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // the sink is gone; nothing left to save
            }
        }
        return null;
    }

    /** Writes what is queued (waiting at most {@code millis}) and stops. */
    public void close(long millis) {
        closed = true;
        try {
            thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            thread.interrupt();
        }
    }

    @Override
    public void close() {
        close(2000);
    }
}
