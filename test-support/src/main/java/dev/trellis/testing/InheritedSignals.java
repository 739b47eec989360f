package dev.trellis.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Signals this JVM ignores, and so every process it starts: a shell without job control (a
 * background job, {@code nohup}, some CI runners) starts its children with SIGINT ignored, and a
 * JVM cannot install a handler for a signal it inherited as ignored. Tests of Ctrl-C handling ask
 * here first.
 */
public final class InheritedSignals {
    private static final int SIGINT = 2;

    private InheritedSignals() {}

    /** True when this process ignores SIGINT (read from {@code SigIgn} in {@code /proc/self/status}). */
    public static boolean sigintIgnored() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    long mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).strip(), 16);
                    return (mask & (1L << (SIGINT - 1))) != 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false; // not Linux: assume the default disposition
        }
        return false;
    }

    /**
     * The signal that stands for Ctrl-C for a child of this JVM: {@code INT}, or {@code TERM} when
     * SIGINT is ignored here (the child could not handle it either); Trellis commands treat both alike.
     */
    public static String ctrlC() {
        return sigintIgnored() ? "TERM" : "INT";
    }
}
