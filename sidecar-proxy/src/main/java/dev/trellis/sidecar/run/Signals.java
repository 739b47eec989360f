package dev.trellis.sidecar.run;

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
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    Thread t = new Thread(() -> onSignal.accept("SIG" + name), "trellis-sig" + name.toLowerCase(java.util.Locale.ROOT));
                    t.setDaemon(true);
                    t.start();
                });
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                log.warn("SIG{} cannot be handled here ({}); it keeps its default", name, e.getMessage());
            }
        }
    }
}
