package dev.trellis.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.PriorityQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The open-loop schedule and its coordinated-omission correction, on a simulated clock. */
class OpenLoopDriverTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    /** A simulated connection: each request takes {@code serviceNanos}, except one that stalls. */
    private static class SimulatedExchange implements Exchange {
        final Sim sim;
        final int concurrency;
        long serviceNanos = MS / 10;
        long stallAtRequest = -1;
        long stallNanos;
        long sent;
        int maxSeenInFlight;
        int inFlight;

        SimulatedExchange(Sim sim, int concurrency) {
            this.sim = sim;
            this.concurrency = concurrency;
        }

        @Override
        public void send(Completion done) {
            long n = sent++;
            inFlight++;
            maxSeenInFlight = Math.max(maxSeenInFlight, inFlight);
            long took = n == stallAtRequest ? stallNanos : serviceNanos;
            sim.at(sim.now + took, () -> {
                inFlight--;
                done.complete(null);
            });
        }

        @Override
        public Executor executor() {
            return Runnable::run;
        }

        @Override
        public int maxConcurrency() {
            return concurrency;
        }

        @Override
        public void close() {}
    }

    /** Discrete-event time: tasks run in time order and move the clock. */
    private static final class Sim {
        long now;
        long seq;
        final PriorityQueue<long[]> order = new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        final java.util.Map<Long, Runnable> tasks = new java.util.HashMap<>();

        void at(long time, Runnable r) {
            long id = seq++;
            tasks.put(id, r);
            order.add(new long[] {time, id});
        }

        void run() {
            while (!order.isEmpty()) {
                long[] next = order.poll();
                now = Math.max(now, next[0]);
                tasks.remove(next[1]).run();
            }
        }
    }

    private static OpenLoopDriver driver(Sim sim, Exchange e, int rate, long warmup, long duration) {
        return new OpenLoopDriver(e, () -> sim.now, (task, delay) -> sim.at(sim.now + delay, task),
                Progress.none(), rate, 0, 1, 0, warmup, warmup + duration);
    }

    @Test
    void sendsAtTheIntendedRateAndMeasuresOnlyAfterWarmup() {
        Sim sim = new Sim();
        SimulatedExchange e = new SimulatedExchange(sim, 1);
        OpenLoopDriver d = driver(sim, e, 1000, 100 * MS, 1000 * MS);
        d.start();
        sim.run();

        PhaseStats s = d.done().join();
        assertThat(d.plannedRequests()).isEqualTo(1100);
        assertThat(e.sent).isEqualTo(1100);
        assertThat(s.ok).isEqualTo(1000);
        assertThat(d.warmupStats().ok).isEqualTo(100);
        assertThat(s.errors).isZero();
        // nothing was late: every latency is the 0.1 ms service time
        assertThat(s.corrected.getMaxValue()).isBetween(MS / 10 - MS / 1000, MS / 10 + MS / 1000);
    }

    @Test
    void aStallIsChargedToEveryRequestItHeldBack() {
        Sim sim = new Sim();
        SimulatedExchange e = new SimulatedExchange(sim, 1);
        e.stallAtRequest = 500;
        e.stallNanos = 100 * MS;
        OpenLoopDriver d = driver(sim, e, 1000, 0, 1000 * MS);
        d.start();
        sim.run();

        PhaseStats s = d.done().join();
        assertThat(s.ok).isEqualTo(1000);
        assertThat(e.maxSeenInFlight).isEqualTo(1);
        // Request 500 takes 100 ms; the ~100 requests intended during the stall wait for the connection,
        // and the backlog takes another ~11 ms to clear at 0.1 ms a request (10 more arrive meanwhile).
        // Their corrected latencies run from ~100 ms down: about 111 requests over 1 ms, and
        // 56 over 50 ms (the k-th after the stall waits 100 - 0.9k ms).
        assertThat(s.corrected.getMaxValue()).isBetween(99 * MS, 101 * MS);
        assertThat(s.corrected.getCountBetweenValues(MS, 200 * MS)).isBetween(105L, 115L);
        assertThat(s.corrected.getCountBetweenValues(50 * MS, 200 * MS)).isBetween(54L, 58L);
        assertThat(s.corrected.getValueAtPercentile(95)).isGreaterThan(40 * MS);
        // Measured from the actual send, the stall looks like one slow request: coordinated omission.
        assertThat(s.uncorrected.getCountBetweenValues(MS, 200 * MS)).isEqualTo(1);
        assertThat(s.uncorrected.getValueAtPercentile(95)).isLessThan(MS);
        // the slowest is the stalled request itself, due 500 ms into the run
        assertThat(s.corrected.highestEquivalentValue(s.slowestNanos)).isEqualTo(s.corrected.getMaxValue());
        assertThat(s.slowestIntended).isBetween(500 * MS, 502 * MS);
    }

    @Test
    void multiplexedConnectionsSendOnTimeDuringAStall() {
        Sim sim = new Sim();
        SimulatedExchange e = new SimulatedExchange(sim, 100);
        e.stallAtRequest = 500;
        e.stallNanos = 100 * MS;
        OpenLoopDriver d = driver(sim, e, 1000, 0, 1000 * MS);
        d.start();
        sim.run();

        PhaseStats s = d.done().join();
        assertThat(s.ok).isEqualTo(1000);
        assertThat(e.maxSeenInFlight).isBetween(2, 3);
        assertThat(s.corrected.getCountBetweenValues(MS, 200 * MS)).isEqualTo(1);
    }

    @Test
    void spreadsConnectionsEvenlyOverTheSchedule() {
        Sim sim = new Sim();
        int connections = 4;
        ArrayDeque<Long> sendTimes = new ArrayDeque<>();
        for (int i = 0; i < connections; i++) {
            Exchange e = new SimulatedExchange(sim, 1) {
                @Override
                public void send(Completion done) {
                    sendTimes.add(sim.now);
                    super.send(done);
                }
            };
            new OpenLoopDriver(e, () -> sim.now, (task, delay) -> sim.at(sim.now + delay, task),
                    Progress.none(), 1000, i, connections, 0, 0, 100 * MS).start();
        }
        sim.run();

        assertThat(sendTimes).hasSize(100);
        long[] sorted = sendTimes.stream().mapToLong(Long::longValue).sorted().toArray();
        for (int k = 0; k < sorted.length; k++) {
            assertThat(sorted[k]).isEqualTo(k * MS);
        }
    }

    @Test
    void abandonCountsWhatNeverCompleted() {
        Sim sim = new Sim();
        SimulatedExchange e = new SimulatedExchange(sim, 1) {
            @Override
            public void send(Completion done) {
                sent++; // never answers
            }
        };
        OpenLoopDriver d = driver(sim, e, 1000, 0, 10 * MS);
        d.start();
        sim.run();
        assertThat(d.done()).isNotDone();

        d.abandon();
        PhaseStats s = d.done().join();
        assertThat(s.ok).isZero();
        assertThat(s.errors).isEqualTo(10);
        assertThat(s.errorKinds).containsEntry("not completed by the drain deadline", 10L);
    }

    @Test
    void closedLoopKeepsDepthInFlight() {
        Sim sim = new Sim();
        SimulatedExchange e = new SimulatedExchange(sim, 100);
        e.serviceNanos = MS;
        ClosedLoopDriver d = new ClosedLoopDriver(e, () -> sim.now, Progress.none(), 4, 10 * MS, 110 * MS);
        var done = d.start();
        sim.run();

        PhaseStats s = done.join();
        assertThat(e.maxSeenInFlight).isEqualTo(4);
        assertThat(s.ok).isEqualTo(400);
        assertThat(s.corrected.getMaxValue()).isBetween(MS - MS / 100, MS + MS / 100);
    }
}
