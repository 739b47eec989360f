package dev.trellis.bench.load;

import java.util.concurrent.atomic.LongAdder;

/** Counters that a progress display reads while a run goes on; updated from the drivers' threads. */
public final class Progress {
    private final LongAdder ok = new LongAdder();
    private final LongAdder errors = new LongAdder();

    /** A progress that nobody reads. */
    public static Progress none() {
        return new Progress();
    }

    void ok() {
        ok.increment();
    }

    void errors(long n) {
        errors.add(n);
    }

    public long okCount() {
        return ok.sum();
    }

    public long errorCount() {
        return errors.sum();
    }
}
