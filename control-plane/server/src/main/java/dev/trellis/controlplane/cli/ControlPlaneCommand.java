package dev.trellis.controlplane.cli;

import dev.trellis.common.cli.Cli;
import dev.trellis.controlplane.ControlPlane;
import dev.trellis.controlplane.policy.PolicyException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code trellis control-plane}: runs the control plane until stopped. */
@Command(name = "control-plane", mixinStandardHelpOptions = true,
        description = "Run the control plane: registry, mesh policy and xDS (ADS) for sidecars and proxyless gRPC clients.")
final class ControlPlaneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Where policy revisions, the CA (ca-key.pem 0600, ca-cert.pem, ca-bundle.pem), join tokens and"
                    + " admin.token (0600) are kept (default: .trellis/control-plane under the Trellis home).")
    Path dataDir;

    @Option(names = "--ca-cert", paramLabel = "PEM",
            description = "Use this root or intermediate CA (chain, signing certificate first) instead of a generated root.")
    Path caCert;

    @Option(names = "--ca-key", paramLabel = "PEM", description = "Private key of --ca-cert (keep it mode 0600).")
    Path caKey;

    @Option(names = "--san", paramLabel = "NAME|IP",
            description = "Extra DNS name or IP in the gRPC port's certificate (it always has localhost, 127.0.0.1, ::1"
                    + " and --bind); repeatable.")
    java.util.List<String> sans = new java.util.ArrayList<>();

    @Option(names = "--policy-dir", paramLabel = "DIR",
            description = "YAML policy files to keep applied; edits apply within a second.")
    Path policyDir;

    @Option(names = "--port", defaultValue = "15012", converter = Cli.PortConverter.class,
            description = "gRPC port over TLS: xDS (ADS), registration, certificate signing (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--admin-port", defaultValue = "15014", converter = Cli.PortConverter.class,
            description = "HTTP admin port: REST API, /metrics, /health, /ready (default: ${DEFAULT-VALUE}).")
    int adminPort;

    @Option(names = "--bind", defaultValue = "127.0.0.1",
            description = "Address both ports listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--grace-period", defaultValue = "5s",
            description = "How long an instance whose registration call broke stays in EDS (default: ${DEFAULT-VALUE}).")
    Duration gracePeriod;

    /** {@code .trellis/control-plane} under the Trellis home. */
    static Path defaultDataDir() {
        return Path.of(System.getProperty("trellis.home", ".")).resolve(".trellis").resolve("control-plane");
    }

    @Override
    public Integer call() throws Exception {
        Path data = dataDir != null ? dataDir : defaultDataDir();
        if ((caCert == null) != (caKey == null)) {
            spec.commandLine().getErr().println("trellis control-plane: --ca-cert and --ca-key: only one given (expected: both or neither)");
            return 2;
        }
        ControlPlane cp;
        try {
            ControlPlane.Builder b = ControlPlane.builder().host(bind).port(port).adminPort(adminPort).dataDir(data)
                    .policyDir(policyDir).gracePeriod(gracePeriod);
            if (caCert != null) b.operatorCa(caCert, caKey);
            sans.forEach(b::serverName);
            cp = b.start();
        } catch (PolicyException e) {
            spec.commandLine().getErr().println("trellis control-plane: policy in " + policyDir + " refused:");
            e.errors().forEach(l -> spec.commandLine().getErr().println("  " + l));
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(cp::close, "trellis-shutdown"));
        spec.commandLine().getOut().printf("control plane: gRPC (TLS) %s:%d, admin http://%s:%d, data %s%n"
                        + "  trust bundle for sidecars (--ca-file): %s%n  admin token: %s%n",
                bind, cp.grpcPort(), bind, cp.adminPort(), data.toAbsolutePath(),
                data.resolve("ca-bundle.pem").toAbsolutePath(), data.resolve("admin.token").toAbsolutePath());
        spec.commandLine().getOut().flush();
        cp.awaitTermination();
        return 0;
    }
}
