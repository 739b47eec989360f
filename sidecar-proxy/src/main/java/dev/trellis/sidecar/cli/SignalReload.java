package dev.trellis.sidecar.cli;

import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.internal.DaemonThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** SIGHUP re-reads the bootstrap (where the JVM lets us handle it). */
final class SignalReload {
    private static final Logger log = LoggerFactory.getLogger(SignalReload.class);

    private SignalReload() {}

    @SuppressWarnings("restriction")
    static void install(Sidecar sidecar) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> DaemonThreads.start("trellis-sighup", sidecar::reload));
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            log.warn("SIGHUP reload not available here: {}", e.getMessage());
        }
    }
}
