package dev.trellis.bench.load;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * Load against one target over a fixed set of connections: open loop at a constant rate
 * ({@link #openLoop}) or closed loop at full speed ({@link #closedLoop}). The connections stay open
 * across phases, as a client's would.
 */
public final class LoadGenerator implements AutoCloseable {
    private static final LongSupplier TICKER = System::nanoTime;

    private final Protocol protocol;
    private final List<Exchange> exchanges = new ArrayList<>();
    private final List<EventLoop> loops = new ArrayList<>();

    /**
     * Opens {@code connections} connections to {@code target} and checks each with one request.
     *
     * @throws IllegalStateException when a connection's first request fails, naming the error
     */
    public LoadGenerator(EventLoopGroup group, Protocol protocol, InetSocketAddress target, int connections,
                         int payloadBytes) {
        if (connections < 1) {
            throw new IllegalArgumentException("connections: " + connections + " (expected: >= 1)");
        }
        this.protocol = protocol;
        byte[] payload = payload(payloadBytes);
        for (int i = 0; i < connections; i++) {
            EventLoop loop = group.next();
            loops.add(loop);
            exchanges.add(switch (protocol) {
                case HTTP1 -> new Http1Exchange(loop, target, payload);
                case H2C -> new H2cExchange(loop, target, payload);
                case GRPC -> new GrpcExchange(loop, target, payload);
            });
        }
        try {
            probe(Duration.ofSeconds(15));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A payload of printable bytes, the same for every run. */
    static byte[] payload(int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    private void probe(Duration timeout) {
        List<CompletableFuture<String>> results = new ArrayList<>();
        for (Exchange e : exchanges) {
            CompletableFuture<String> r = new CompletableFuture<>();
            e.executor().execute(() -> e.send(r::complete));
            results.add(r);
        }
        for (CompletableFuture<String> r : results) {
            String error;
            try {
                error = r.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                error = "no response within " + timeout.toSeconds() + "s";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            } catch (ExecutionException e) {
                error = String.valueOf(e.getCause());
            }
            if (error != null) {
                throw new IllegalStateException("first " + protocol + " request failed: " + error);
            }
        }
    }

    public Protocol protocol() {
        return protocol;
    }

    public int connections() {
        return exchanges.size();
    }

    /**
     * Sends {@code rate} requests per second for {@code warmup + duration}, measuring the requests
     * intended after the warm-up, then waits up to {@code drain} for stragglers (those left count
     * as errors). {@code onMeasureStart} and {@code onMeasureEnd} run on a timer thread when the
     * measured window opens and closes, for samples such as proxy CPU.
     */
    public LoadResult openLoop(int rate, Duration warmup, Duration duration, Duration drain, Progress progress,
                               Runnable onMeasureStart, Runnable onMeasureEnd) {
        long start = TICKER.getAsLong() + TimeUnit.MILLISECONDS.toNanos(20);
        long measureFrom = start + warmup.toNanos();
        long end = measureFrom + duration.toNanos();
        List<Runnable> abandons = new ArrayList<>();
        List<CompletableFuture<PhaseStats>> futures = new ArrayList<>();
        for (int i = 0; i < exchanges.size(); i++) {
            Exchange e = exchanges.get(i);
            EventLoop loop = loops.get(i);
            OpenLoopDriver d = new OpenLoopDriver(e, TICKER,
                    (task, delay) -> loop.schedule(task, delay, TimeUnit.NANOSECONDS),
                    progress, rate, i, exchanges.size(), start, measureFrom, end);
            abandons.add(() -> loop.execute(d::abandon));
            futures.add(d.done());
            loop.schedule(d::start, Math.max(0, start - TICKER.getAsLong()), TimeUnit.NANOSECONDS);
        }
        Marks marks = new Marks(measureFrom, end, onMeasureStart, onMeasureEnd);
        List<PhaseStats> stats = await(futures, end + drain.toNanos(), () -> abandons.forEach(Runnable::run));
        marks.finish();
        return merge(rate, stats, duration);
    }

    /**
     * Keeps {@code depth} requests in flight per connection (1 for HTTP/1.1) for
     * {@code warmup + duration} and measures the requests sent after the warm-up.
     */
    public LoadResult closedLoop(int depth, Duration warmup, Duration duration, Duration drain, Progress progress,
                                 Runnable onMeasureStart, Runnable onMeasureEnd) {
        long start = TICKER.getAsLong() + TimeUnit.MILLISECONDS.toNanos(20);
        long measureFrom = start + warmup.toNanos();
        long end = measureFrom + duration.toNanos();
        List<Runnable> abandons = new ArrayList<>();
        List<CompletableFuture<PhaseStats>> futures = new ArrayList<>();
        for (int i = 0; i < exchanges.size(); i++) {
            Exchange e = exchanges.get(i);
            EventLoop loop = loops.get(i);
            ClosedLoopDriver d = new ClosedLoopDriver(e, TICKER, progress, depth, measureFrom, end);
            abandons.add(() -> loop.execute(d::abandon));
            CompletableFuture<PhaseStats> f = new CompletableFuture<>();
            futures.add(f);
            loop.schedule(() -> d.start().whenComplete((s, t) -> f.complete(s)), Math.max(0, start - TICKER.getAsLong()), TimeUnit.NANOSECONDS);
        }
        Marks marks = new Marks(measureFrom, end, onMeasureStart, onMeasureEnd);
        List<PhaseStats> stats = await(futures, end + drain.toNanos(), () -> abandons.forEach(Runnable::run));
        marks.finish();
        return merge(0, stats, duration);
    }

    private static List<PhaseStats> await(List<CompletableFuture<PhaseStats>> futures, long deadline,
                                          Runnable abandon) {
        CompletableFuture<Void> all = CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new));
        try {
            long wait = deadline - TICKER.getAsLong();
            all.get(Math.max(0, wait), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            abandon.run();
            try {
                all.get(10, TimeUnit.SECONDS);
            } catch (Exception again) {
                throw new IllegalStateException("load generator did not stop after the drain deadline", again);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
        List<PhaseStats> out = new ArrayList<>();
        futures.forEach(f -> out.add(f.join()));
        return out;
    }

    private static LoadResult merge(int rate, List<PhaseStats> stats, Duration duration) {
        PhaseStats all = new PhaseStats();
        stats.forEach(all::add);
        Map<String, Long> kinds = new TreeMap<>(all.errorKinds);
        Instant slowestAt = all.slowestNanos < 0 ? null
                : Instant.now().minusNanos(TICKER.getAsLong() - all.slowestIntended);
        return new LoadResult(rate, all.corrected, all.uncorrected, all.ok, all.errors, kinds, duration, slowestAt);
    }

    @Override
    public void close() {
        exchanges.forEach(e -> {
            CompletableFuture<Void> closed = new CompletableFuture<>();
            // HTTP exchanges close on their loop; gRPC's close blocks and may run anywhere
            if (e instanceof GrpcExchange) {
                e.close();
                closed.complete(null);
            } else {
                e.executor().execute(() -> {
                    try {
                        e.close();
                    } finally {
                        closed.complete(null);
                    }
                });
            }
            closed.orTimeout(10, TimeUnit.SECONDS).exceptionally(t -> null).join();
        });
    }

    /** Runs the start and end hooks at the measured window's edges. */
    private static final class Marks {
        private final Thread thread;

        Marks(long from, long to, Runnable atFrom, Runnable atTo) {
            thread = new Thread(() -> {
                try {
                    sleepUntil(from);
                    atFrom.run();
                    sleepUntil(to);
                    atTo.run();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bench-marks");
            thread.setDaemon(true);
            thread.start();
        }

        private static void sleepUntil(long t) throws InterruptedException {
            long wait;
            while ((wait = t - TICKER.getAsLong()) > 0) {
                TimeUnit.NANOSECONDS.sleep(Math.min(wait, TimeUnit.MILLISECONDS.toNanos(100)));
            }
        }

        void finish() {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
