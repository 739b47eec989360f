package dev.trellis.controlplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code trellis status}: every connected proxy and whether it runs the config it was sent. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show every proxy and whether its config is in sync (SYNCED, STALE or NACKED).")
final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--control-plane-admin", paramLabel = "URL", defaultValue = "http://127.0.0.1:15014",
            description = "The control plane's admin URL (default: ${DEFAULT-VALUE}).")
    String admin;

    @Option(names = "--admin-token-file", paramLabel = "FILE",
            description = "The operator token (default: admin.token in the control plane's default data dir).")
    java.nio.file.Path adminTokenFile;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        JsonNode proxies;
        JsonNode registry;
        try {
            AdminClient c = new AdminClient(admin, adminTokenFile);
            AdminClient.Reply r = c.get("/api/v1/proxies");
            if (!r.ok()) {
                spec.commandLine().getErr().println("trellis status: " + r.errors());
                return 1;
            }
            proxies = r.json();
            registry = c.get("/api/v1/registry").json();
        } catch (IOException e) {
            spec.commandLine().getErr().println("trellis status: " + e.getMessage());
            return 1;
        }
        out.printf("%-40s %-9s %-7s %-8s %-12s %-12s %-12s %-12s%n", "NODE", "TYPE", "STATE", "AGE", "LDS", "RDS", "CDS", "EDS");
        List<String> nacks = new ArrayList<>();
        for (JsonNode p : proxies) {
            JsonNode res = p.path("resources");
            out.printf("%-40s %-9s %-7s %-8s %-12s %-12s %-12s %-12s%n", p.path("node").asText(), p.path("type").asText(),
                    p.path("state").asText(), age(p.path("connectedSince").asText()), cell(res.path("LDS")), cell(res.path("RDS")), cell(res.path("CDS")),
                    cell(res.path("EDS")));
            res.properties().forEach(e -> {
                JsonNode n = e.getValue().path("lastNack");
                if (!n.isMissingNode()) {
                    nacks.add(p.path("node").asText() + " " + e.getKey() + " version " + n.path("version").asText()
                            + ": " + n.path("error").asText());
                }
            });
        }
        if (proxies.isEmpty()) out.println("(no proxies connected)");
        if (!nacks.isEmpty()) {
            out.println();
            out.println("NACKs (the proxy keeps its last good config):");
            nacks.forEach(n -> out.println("  " + n));
        }
        out.println();
        int routable = 0;
        for (JsonNode i : registry) if (i.path("routable").asBoolean()) routable++;
        out.println("registry: " + registry.size() + " instance(s), " + routable + " routable");
        return 0;
    }

    private static String age(String since) {
        try {
            java.time.Duration d = java.time.Duration.between(java.time.Instant.parse(since), java.time.Instant.now());
            if (d.isNegative()) d = java.time.Duration.ZERO;
            return dev.trellis.common.Durations.format(java.time.Duration.ofSeconds(d.getSeconds()));
        } catch (RuntimeException e) {
            return "?";
        }
    }

    /** The ACKed version, marked when a newer one was sent and not ACKed yet. */
    private static String cell(JsonNode t) {
        if (t.isMissingNode()) return "-";
        String acked = t.path("acked").isNull() || t.path("acked").isMissingNode() ? "-" : t.path("acked").asText();
        String sent = t.path("sent").asText("");
        return sent.equals(acked) ? acked : acked + " (sent " + sent + ")";
    }
}
