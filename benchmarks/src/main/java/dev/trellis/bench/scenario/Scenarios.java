package dev.trellis.bench.scenario;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** Every scenario, in the order a run measures them. */
public final class Scenarios {
    private static final List<Scenario> ALL = List.of(
            new DirectScenario(),
            new SidecarScenario(),
            new MeshScenario(),
            new HaproxyScenario(),
            new HaproxyMtlsScenario(),
            new NginxScenario());

    private Scenarios() {}

    public static List<Scenario> all() {
        return ALL;
    }

    public static Optional<Scenario> byName(String name) {
        return ALL.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** {@code direct, sidecar, ...} for error messages. */
    public static String names() {
        return ALL.stream().map(Scenario::name).collect(Collectors.joining(", "));
    }
}
