package dev.trellis.sidecar.run;

import dev.trellis.sidecar.internal.DaemonThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** SIGTERM and SIGINT handlers for supervising commands (where the JVM lets us handle them). */
public final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);

    private Signals() {}

    /**
     * Calls {@code onSignal} with "SIGTERM" or "SIGINT" on a fresh thread, instead of the JVM's
     * default of exiting: the caller decides how to stop. A signal that cannot be handled here
     * keeps its default.
     */
    @SuppressWarnings("restriction")
    public static void onTerminate(java.util.function.Consumer<String> onSignal) {
        for (String name : new String[] {"TERM", "INT"}) {
            if (ignoredAtStart(name)) {
                // the JVM keeps an inherited SIG_IGN and sun.misc.Signal.handle then installs nothing, silently
                log.warn("SIG{} was ignored when this process started (a background job of a shell without job control,"
                        + " or nohup), so it cannot be handled; stop this process with another signal", name);
                continue;
            }
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> DaemonThreads.start("trellis-sig" + name.toLowerCase(java.util.Locale.ROOT),
                        () -> onSignal.accept("SIG" + name)));
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                log.warn("SIG{} cannot be handled here ({}); it keeps its default", name, e.getMessage());
            }
        }
    }

    /**
     * True when signal {@code name} ({@code INT}, {@code TERM}) was ignored when this process started,
     * read from {@code SigIgn} in {@code /proc/self/status}; false where that cannot be read.
     */
    public static boolean ignoredAtStart(String name) {
        int number = switch (name) {
            case "INT" -> 2;
            case "TERM" -> 15;
            default -> throw new IllegalArgumentException("signal: " + name + " (expected: INT or TERM)");
        };
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/self/status"))) {
            return lines.filter(l -> l.startsWith("SigIgn:")).findFirst()
                    .map(l -> (Long.parseUnsignedLong(l.substring("SigIgn:".length()).strip(), 16) & (1L << (number - 1))) != 0)
                    .orElse(false);
        } catch (java.io.IOException | java.io.UncheckedIOException | NumberFormatException e) {
            return false;
        }
    }
}
