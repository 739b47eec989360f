package dev.trellis.bench.scenario;

import java.util.List;

/** The baseline: the load generator talks to the echo backend itself. */
final class DirectScenario implements Scenario {
    @Override
    public String name() {
        return "direct";
    }

    @Override
    public String describe(ScenarioContext ctx) {
        return "client -> echo backend (no proxy; the baseline for \"added latency\")";
    }

    @Override
    public Deployment deploy(ScenarioContext ctx) {
        return new Deployment(ctx.backend(), List.of());
    }
}
