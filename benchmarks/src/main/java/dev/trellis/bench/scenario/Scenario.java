package dev.trellis.bench.scenario;

/**
 * One way of putting something between the load generator and the echo backend. A scenario
 * starts its proxies and says where clients connect; the runner measures and then stops them.
 */
public interface Scenario {
    /** The name used on the command line and in reports, e.g. {@code haproxy-mtls}. */
    String name();

    /** What the path is, for the report's method section. */
    String describe(ScenarioContext ctx);

    /**
     * Starts the scenario's proxies and returns where to send load.
     *
     * @throws ScenarioSkipped when something it needs is not on this machine
     */
    Deployment deploy(ScenarioContext ctx) throws Exception;
}
