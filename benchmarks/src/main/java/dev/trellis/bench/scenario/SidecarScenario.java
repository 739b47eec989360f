package dev.trellis.bench.scenario;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One Trellis sidecar hop, configured by a generated Envoy v3 bootstrap. */
final class SidecarScenario implements Scenario {
    private final String variant;

    SidecarScenario() {
        this(null);
    }

    /** @param variant the sidecar variant to run (null: the run's sidecar settings) */
    SidecarScenario(String variant) {
        this.variant = variant;
    }

    @Override
    public String name() {
        return variant == null ? "sidecar" : "sidecar@" + variant;
    }

    @Override
    public String describe(ScenarioContext ctx) {
        return "client -> Trellis sidecar -> echo backend (plaintext, Envoy v3 bootstrap with a static listener and cluster)"
                + (variant == null ? "" : "; sidecar variant '" + variant + "'") + accessLogNote(ctx);
    }

    static String accessLogNote(ScenarioContext ctx) {
        return ctx.sidecar().accessLog() ? "; JSON access log to a file (--access-log)" : "";
    }

    @Override
    public Deployment deploy(ScenarioContext ctx) throws Exception {
        requireJar(ctx, variant);
        InetSocketAddress listen = Ports.freeLoopback();
        InetSocketAddress admin = Ports.freeLoopback();
        Path cfg = ctx.writeConfig(name() + ".yaml", SidecarBootstrap.yaml("bench-sidecar", ctx.protocol(), listen, admin,
                ctx.backend(), SidecarBootstrap.Tls.NONE, null, accessLog(ctx, name())));
        return new Deployment(listen, List.of(launch(ctx, variant, name(), cfg, listen)));
    }

    /**
     * Where sidecar {@code name} writes its access log with {@code --access-log}, else null. Not
     * {@code .log}: the run copies those into its output, and this one grows by the request.
     */
    static Path accessLog(ScenarioContext ctx, String name) {
        return ctx.sidecar().accessLog() ? ctx.file(name + "-access.jsonl") : null;
    }

    /** Skips when the sidecar jar has not been built. */
    static void requireJar(ScenarioContext ctx, String variant) throws ScenarioSkipped {
        Path jar = ctx.sidecar().variant(variant).jar();
        if (!Files.isRegularFile(jar)) {
            throw new ScenarioSkipped("the Trellis sidecar jar " + jar + " is missing (build it: mvn -B -pl sidecar-proxy -am package -DskipTests)");
        }
    }

    /** Starts {@code java -jar trellis-sidecar.jar sidecar --config CFG}; a sidecar that exits fails the scenario. */
    static Deployment.Proxy launch(ScenarioContext ctx, String variant, String name, Path cfg, InetSocketAddress listen)
            throws Exception {
        ScenarioContext.SidecarSettings s = ctx.sidecar().variant(variant);
        List<String> cmd = new ArrayList<>();
        cmd.add(s.java().toString());
        cmd.addAll(s.jvmOptions());
        // GC pauses and safepoints with wall-clock times, next to the report's time of each phase's
        // slowest request, so a stall of the proxy can be told from one elsewhere (one line per GC)
        cmd.add("-Xlog:gc,safepoint:file=\"" + ctx.file(name + "-jvm.log") + "\":utctime,uptime");
        cmd.addAll(List.of("-jar", s.jar().toString(), "sidecar", "--config", cfg.toString()));
        try {
            return ctx.launch(name, cmd, listen);
        } catch (ProcessSupervisor.StartFailure e) {
            throw new IllegalStateException(name + " did not start (exit " + e.exitCode() + "): " + e.getMessage());
        }
    }
}
