package dev.trellis.bench.run;

import dev.trellis.bench.load.Progress;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/** A one-line progress bar redrawn on a terminal while a phase runs; does nothing when disabled. */
final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final Thread thread;
    private volatile boolean running = true;
    private int lastLength;

    private ProgressBar(PrintStream out, boolean enabled, String label, long totalNanos, Progress progress) {
        this.out = out;
        if (!enabled) {
            thread = null;
            return;
        }
        long start = System.nanoTime();
        thread = new Thread(() -> {
            while (running) {
                draw(render(label, System.nanoTime() - start, totalNanos, progress.okCount(), progress.errorCount()));
                try {
                    TimeUnit.MILLISECONDS.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "bench-progress");
        thread.setDaemon(true);
        thread.start();
    }

    static ProgressBar start(PrintStream out, boolean enabled, String label, long totalNanos, Progress progress) {
        return new ProgressBar(out, enabled, label, totalNanos, progress);
    }

    /** {@code label [#######.......]  45%  11.2s/25.0s  ok 1200  errors 0} */
    static String render(String label, long elapsedNanos, long totalNanos, long ok, long errors) {
        double f = totalNanos <= 0 ? 1 : Math.min(1, Math.max(0, elapsedNanos / (double) totalNanos));
        int filled = (int) Math.round(f * WIDTH);
        return String.format(Locale.ROOT, "%-28s [%s%s] %3d%%  %5.1fs/%.1fs  ok %d  errors %d", label,
                "#".repeat(filled), ".".repeat(WIDTH - filled), Math.round(f * 100),
                elapsedNanos / 1e9, totalNanos / 1e9, ok, errors);
    }

    private synchronized void draw(String line) {
        out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
        out.flush();
        lastLength = line.length();
    }

    @Override
    public void close() {
        if (thread == null) {
            return;
        }
        running = false;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            out.print("\r" + " ".repeat(lastLength) + "\r");
            out.flush();
        }
    }
}
