package dev.trellis.controlplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.trellis.controlplane.policy.PolicyDocument;
import dev.trellis.controlplane.policy.PolicyException;
import dev.trellis.controlplane.policy.PolicyParser;
import dev.trellis.controlplane.policy.PolicyValidator;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code trellis policy ...}: the mesh policy through the control plane's REST API. */
@Command(name = "policy", mixinStandardHelpOptions = true,
        description = "Apply, get, validate, list the history of and roll back mesh policy.",
        subcommands = {
                PolicyCommand.Apply.class, PolicyCommand.Get.class, PolicyCommand.Validate.class,
                PolicyCommand.History.class, PolicyCommand.Rollback.class, PolicyCommand.Delete.class,
        })
final class PolicyCommand implements Callable<Integer> {
    static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    /** Options every subcommand shares. */
    abstract static class Base implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--control-plane-admin", paramLabel = "URL", defaultValue = "http://127.0.0.1:15014",
                description = "The control plane's admin URL (default: ${DEFAULT-VALUE}).")
        String admin;

        @Option(names = "--admin-token-file", paramLabel = "FILE",
                description = "The operator token (default: admin.token in the control plane's default data dir).")
        Path adminTokenFile;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        PrintWriter err() {
            return spec.commandLine().getErr();
        }

        @Override
        public Integer call() throws Exception {
            try {
                return run(new AdminClient(admin, adminTokenFile));
            } catch (IOException e) {
                err().println(spec.qualifiedName() + ": " + e.getMessage());
                return 1;
            } catch (PolicyException e) {
                err().println(spec.qualifiedName() + ": refused, nothing changed:");
                e.errors().forEach(l -> err().println("  " + l));
                return 1;
            } finally {
                out().flush();
                err().flush();
            }
        }

        abstract int run(AdminClient client) throws IOException, InterruptedException, PolicyException;

        int failed(AdminClient.Reply r) {
            err().println(spec.qualifiedName() + ": refused (HTTP " + r.status() + "), nothing changed:");
            for (String l : r.errors().split("\n")) err().println("  " + l);
            return 1;
        }
    }

    /** Reads documents from files and directories (YAML or JSON), naming the file in errors. */
    static List<PolicyDocument> read(List<Path> paths) throws IOException, PolicyException {
        List<PolicyDocument> docs = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (Path p : paths) {
            List<Path> files;
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    files = s.filter(Files::isRegularFile).filter(f -> f.toString().matches(".*\\.(ya?ml|json)$"))
                            .sorted().toList();
                }
            } else if (Files.isRegularFile(p)) {
                files = List.of(p);
            } else {
                throw new IOException(p + ": no such file or directory (expected: a policy file or a directory of them)");
            }
            for (Path f : files) {
                try {
                    docs.addAll(PolicyParser.parse(Files.readString(f, StandardCharsets.UTF_8), f.toString(), "api"));
                } catch (PolicyException e) {
                    errors.addAll(e.errors());
                }
            }
        }
        if (!errors.isEmpty()) throw new PolicyException(errors);
        return docs;
    }

    static String body(List<PolicyDocument> docs) throws IOException {
        ArrayNode a = JSON.createArrayNode();
        docs.forEach(d -> a.add(PolicyParser.toJson(d)));
        return JSON.writeValueAsString(a);
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Apply every document in FILE or DIR as one change (all or nothing).")
    static final class Apply extends Base {
        @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE|DIR", description = "Policy file or directory; repeatable.")
        List<Path> files;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException, PolicyException {
            List<PolicyDocument> docs = read(files);
            if (docs.isEmpty()) throw new PolicyException(files + ": no documents (expected: at least one)");
            AdminClient.Reply r = client.send("POST", "/api/v1/policy", body(docs), "application/json");
            if (!r.ok()) return failed(r);
            JsonNode j = r.json();
            if (j.path("unchanged").asBoolean()) {
                out().println("unchanged (revision " + j.path("revision").asLong() + ")");
            } else {
                out().println("applied revision " + j.path("revision").asLong() + ":");
                j.path("changes").forEach(c -> out().println("  " + c.asText()));
            }
            return 0;
        }
    }

    @Command(name = "validate", mixinStandardHelpOptions = true,
            description = "Check FILE or DIR against the current policy without applying it.")
    static final class Validate extends Base {
        @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE|DIR", description = "Policy file or directory; repeatable.")
        List<Path> files;

        @Option(names = "--offline", description = "Check the documents on their own, without a control plane.")
        boolean offline;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException, PolicyException {
            List<PolicyDocument> docs = read(files);
            if (offline) {
                PolicyValidator.validate(docs, 0);
                out().println("valid: " + docs.size() + " document(s)");
                return 0;
            }
            AdminClient.Reply r = client.send("POST", "/api/v1/policy:validate", body(docs), "application/json");
            if (!r.ok()) {
                err().println("trellis policy validate: invalid:");
                for (String l : r.errors().split("\n")) err().println("  " + l);
                return 1;
            }
            out().println("valid: " + docs.size() + " document(s) against revision " + r.json().path("revision").asLong());
            return 0;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Print the current policy, a kind of it, or one document.")
    static final class Get extends Base {
        @Parameters(index = "0", arity = "0..1", paramLabel = "KIND") String kind;
        @Parameters(index = "1", arity = "0..1", paramLabel = "NAME") String name;

        @Option(names = {"-o", "--output"}, defaultValue = "yaml", description = "yaml or json (default: ${DEFAULT-VALUE}).")
        String output;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            String path = "/api/v1/policy" + (kind == null ? "" : "/" + enc(kind) + (name == null ? "" : "/" + enc(name)));
            AdminClient.Reply r = client.get(path + ("json".equals(output) ? "" : "?format=yaml"));
            if (!r.ok()) {
                err().println("trellis policy get: " + r.errors());
                return 1;
            }
            out().print(r.body().endsWith("\n") ? r.body() : r.body() + "\n");
            out().flush();
            return 0;
        }
    }

    @Command(name = "history", mixinStandardHelpOptions = true, description = "List the policy revisions kept.")
    static final class History extends Base {
        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            AdminClient.Reply r = client.get("/api/v1/policy/history");
            if (!r.ok()) return failed(r);
            JsonNode j = r.json();
            long current = j.path("current").asLong();
            out().printf("%-3s %-9s %-21s %-16s %s%n", "", "REVISION", "TIME", "SOURCE", "CHANGES");
            for (JsonNode e : j.path("revisions")) {
                List<String> ch = new ArrayList<>();
                e.path("changes").forEach(c -> ch.add(c.asText()));
                out().printf("%-3s %-9d %-21s %-16s %s%n", e.path("revision").asLong() == current ? "*" : "",
                        e.path("revision").asLong(),
                        java.time.Instant.parse(e.path("time").asText()).truncatedTo(java.time.temporal.ChronoUnit.SECONDS), e.path("source").asText(), String.join(", ", ch));
            }
            return 0;
        }
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Make the policy of revision REV current again (as a new revision).")
    static final class Rollback extends Base {
        @Parameters(index = "0", paramLabel = "REV") long revision;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            AdminClient.Reply r = client.send("POST", "/api/v1/policy:rollback?to=" + revision, null, null);
            if (!r.ok()) return failed(r);
            JsonNode j = r.json();
            out().println(j.path("unchanged").asBoolean() ? "unchanged (revision " + j.path("revision").asLong() + ")"
                    : "rolled back to revision " + revision + " as revision " + j.path("revision").asLong());
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete one document.")
    static final class Delete extends Base {
        @Parameters(index = "0", paramLabel = "KIND") String kind;
        @Parameters(index = "1", paramLabel = "NAME") String name;

        @Override
        int run(AdminClient client) throws IOException, InterruptedException {
            AdminClient.Reply r = client.send("DELETE", "/api/v1/policy/" + enc(kind) + "/" + enc(name), null, null);
            if (!r.ok()) return failed(r);
            out().println("deleted " + kind + "/" + name + " in revision " + r.json().path("revision").asLong());
            return 0;
        }
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
