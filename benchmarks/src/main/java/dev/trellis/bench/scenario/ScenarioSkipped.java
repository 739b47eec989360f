package dev.trellis.bench.scenario;

/** A scenario cannot run on this machine; the message says why and what to install. */
public final class ScenarioSkipped extends Exception {
    private static final long serialVersionUID = 1L;

    public ScenarioSkipped(String reason) {
        super(reason, null, false, false);
    }
}
