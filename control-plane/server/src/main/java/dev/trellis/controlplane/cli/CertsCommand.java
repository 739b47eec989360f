package dev.trellis.controlplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code trellis certs ...}: the mesh CA through the control plane's REST API. */
@Command(name = "certs", mixinStandardHelpOptions = true, description = "Show and rotate the mesh CA.",
        subcommands = {CertsCommand.Status.class, CertsCommand.RotateRoot.class})
final class CertsCommand implements java.util.concurrent.Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Roots in the bundle, their use and expiry, and how many workloads hold certificates from each.")
    static final class Status extends PolicyCommand.Base {
        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            AdminClient.Reply r = client.get("/api/v1/certs");
            if (!r.ok()) return failed(r);
            print(r.json());
            return 0;
        }

        void print(JsonNode j) {
            out().println("trust domain " + j.path("trustDomain").asText() + ", bundle version " + j.path("bundleVersion").asLong()
                    + ", control plane certificate until " + j.path("serverCertificateNotAfter").asText());
            roots(j.path("roots"));
            out().println("sidecars watching the bundle: " + j.path("watchers").size());
            j.path("watchers").properties().forEach(e -> out().println("  " + e.getKey() + " acked version " + e.getValue().asLong()));
        }

        void roots(JsonNode roots) {
            out().printf("%-18s %-8s %-22s %-22s %-9s %s%n", "ROOT (sha256)", "ROLE", "EXPIRES", "ISSUED UNTIL", "WORKLOADS", "SUBJECT");
            for (JsonNode root : roots) {
                out().printf("%-18s %-8s %-22s %-22s %-9d %s%n", root.path("sha256").asText().substring(0, 16),
                        root.path("role").asText(), root.path("notAfter").asText(),
                        root.path("issuedUntil").isNull() ? "-" : root.path("issuedUntil").asText(),
                        root.path("workloads").asInt(), root.path("subject").asText());
            }
        }
    }

    @Command(name = "rotate-root", mixinStandardHelpOptions = true,
            description = "Add a new root to the bundle, push it to every sidecar, switch signing once all have it;"
                    + " the old root is dropped when nothing it signed is valid. Run again to continue after a timeout.")
    static final class RotateRoot extends PolicyCommand.Base {
        @Option(names = "--wait", defaultValue = "60s",
                description = "How long to wait for every sidecar to ack the new bundle (default: ${DEFAULT-VALUE}).")
        String wait;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            AdminClient.Reply r = client.send("POST", "/api/v1/certs:rotate-root?wait=" + PolicyCommand.enc(wait), null, null);
            if (r.status() != 200 && r.status() != 409) return failed(r);
            JsonNode j = r.json();
            j.path("steps").forEach(s -> out().println(s.asText()));
            Status s = new Status();
            s.spec = spec;
            s.roots(j.path("roots"));
            return j.path("switched").asBoolean() ? 0 : 1;
        }
    }
}
