package dev.trellis.sidecar.observe;

import dev.trellis.sidecar.internal.DaemonThreads;
import io.micrometer.core.instrument.Counter;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes access log lines on its own thread. Requests only offer a line to a bounded queue:
 * when the sink is slow or stuck the queue fills and further lines are dropped and counted,
 * so a log sink never slows requests down; lines wait in the queue while the sink cannot be
 * opened. The thread wakes every {@link #FLUSH_INTERVAL} and writes what queued meanwhile with
 * one flush, as Envoy flushes its file access logs on an interval; a thread waiting on the queue
 * would be woken by every line, a thread switch and a {@code write} per request on the CPU the
 * event loop shares.
 */
public final class AccessLogWriter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AccessLogWriter.class);
    /** Default queue length in lines. */
    public static final int DEFAULT_CAPACITY = 8192;
    /** How long a line may wait in the queue before it is written. */
    static final Duration FLUSH_INTERVAL = Duration.ofMillis(100);

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
        List<String> batch = new ArrayList<>();
        while (true) {
            boolean last = closed;
            if (out == null && !queue.isEmpty()) {
                // lines stay queued while the sink cannot be opened (or blocks opening, as a FIFO
                // without a reader does): the queue's bound holds and later lines are dropped
                out = open();
            }
            if (out != null) {
                queue.drainTo(batch);
                for (String line : batch) {
                    out = write(out, line);
                }
                if (!batch.isEmpty() && out != null) {
                    out = flush(out);
                }
                batch.clear();
            }
            if (last) {
                int lost = queue.size();
                if (lost > 0) {
                    dropped.increment(lost);
                    queue.clear();
                }
                break;
            }
            // not a wait on the queue: offers must not wake this thread, close() does
            LockSupport.parkNanos(this, FLUSH_INTERVAL.toNanos());
            Thread.interrupted(); // only close() interrupts, and the next turn sees closed
        }
        closeQuietly(out);
    }

    private OutputStream open() {
        try {
            return new BufferedOutputStream(sink.open(), 64 * 1024);
        } catch (IOException e) {
            failed("cannot open: " + e + " (lines wait in the queue and are dropped when it is full)");
            return null;
        }
    }

    /**
     * Writes one line, opening the sink again after an earlier line's write failed; the line is
     * dropped and counted if that fails. Returns the stream, null after a failure.
     */
    private OutputStream write(OutputStream out, String line) {
        if (out == null && (out = open()) == null) {
            dropped.increment();
            return null;
        }
        try {
            out.write(line.getBytes(StandardCharsets.UTF_8));
            out.write('\n');
            written.increment();
            return out;
        } catch (IOException e) {
            dropped.increment();
            failed(e + " (lines are dropped until it works again)");
            return closeQuietly(out);
        }
    }

    private OutputStream flush(OutputStream out) {
        try {
            out.flush();
            return out;
        } catch (IOException e) {
            failed(e + " (lines are dropped until it works again)");
            return closeQuietly(out);
        }
    }

    /** Logs a failure of the sink, at most once every 10 s. */
    private void failed(String what) {
        long now = System.nanoTime();
        if (now - lastErrorLog > TimeUnit.SECONDS.toNanos(10)) {
            lastErrorLog = now;
            log.warn("access log '{}': {}", name, what);
        }
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
        LockSupport.unpark(thread);
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
