package dev.trellis.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/** Netty leak reports seen since the last {@link #drain()}, filled by {@link LeakRecordingAppender}. */
public final class LeakReports {
    private static final ConcurrentLinkedQueue<String> REPORTS = new ConcurrentLinkedQueue<>();

    private LeakReports() {}

    static void add(String report) {
        REPORTS.add(report);
    }

    /** Returns and forgets the reports recorded so far. */
    public static List<String> drain() {
        List<String> out = new ArrayList<>();
        for (String r; (r = REPORTS.poll()) != null; ) {
            out.add(r);
        }
        return out;
    }
}
