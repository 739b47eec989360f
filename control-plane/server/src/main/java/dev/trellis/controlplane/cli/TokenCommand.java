package dev.trellis.controlplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.trellis.controlplane.policy.PolicyException;
import java.io.IOException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code trellis token ...}: join tokens through the control plane's REST API. */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = "Create, list and revoke join tokens: a sidecar's proof of its service on first contact.",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
final class TokenCommand implements java.util.concurrent.Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Make a join token for one service and print it (once: only its hash is stored).")
    static final class Create extends PolicyCommand.Base {
        @Option(names = "--service", required = true, paramLabel = "NAME", description = "The service the token is for.")
        String service;

        @Option(names = "--ttl", defaultValue = "24h", description = "How long the token is valid (default: ${DEFAULT-VALUE}).")
        String ttl;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException, PolicyException {
            ObjectNode body = PolicyCommand.JSON.createObjectNode().put("service", service).put("ttl", ttl);
            AdminClient.Reply r = client.send("POST", "/api/v1/tokens", PolicyCommand.JSON.writeValueAsString(body), "application/json");
            if (!r.ok()) return failed(r);
            JsonNode j = r.json();
            out().println(j.path("token").asText());
            err().println("join token " + j.path("id").asText() + " for service '" + j.path("service").asText()
                    + "', valid until " + j.path("expires").asText() + " (shown once; pass it to the sidecar with --token-file)");
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List join tokens (ids, never secrets).")
    static final class ListTokens extends PolicyCommand.Base {
        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            AdminClient.Reply r = client.get("/api/v1/tokens");
            if (!r.ok()) return failed(r);
            out().printf("%-14s %-24s %-8s %-22s %s%n", "ID", "SERVICE", "STATE", "CREATED", "EXPIRES");
            for (JsonNode t : r.json()) {
                out().printf("%-14s %-24s %-8s %-22s %s%n", t.path("id").asText(), t.path("service").asText(),
                        t.path("state").asText(), t.path("created").asText(), t.path("expires").asText());
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a join token by id.")
    static final class Revoke extends PolicyCommand.Base {
        @Parameters(index = "0", paramLabel = "ID") String id;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            AdminClient.Reply r = client.send("DELETE", "/api/v1/tokens/" + PolicyCommand.enc(id), null, null);
            if (!r.ok()) return failed(r);
            out().println("revoked " + id);
            return 0;
        }
    }
}
