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

    /**
     * The scenario called {@code name}; {@code sidecar@V} and {@code mesh@V} are the Trellis
     * scenarios with sidecar variant {@code V} (its jar and JVM options).
     */
    public static Optional<Scenario> byName(String name) {
        int at = name.indexOf('@');
        if (at > 0 && at < name.length() - 1) {
            String variant = name.substring(at + 1);
            return switch (name.substring(0, at)) {
                case "sidecar" -> Optional.of(new SidecarScenario(variant));
                case "mesh" -> Optional.of(new MeshScenario(variant));
                default -> Optional.empty();
            };
        }
        return ALL.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** The sidecar variant a scenario name uses ({@code mesh@V}: {@code V}), or null. */
    public static String variantOf(String name) {
        int at = name.indexOf('@');
        return at < 0 ? null : name.substring(at + 1);
    }

    /** {@code direct, sidecar, ...} for error messages. */
    public static String names() {
        return ALL.stream().map(Scenario::name).collect(Collectors.joining(", "));
    }
}
