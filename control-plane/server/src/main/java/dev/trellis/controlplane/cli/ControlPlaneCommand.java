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
            description = "Where policy revisions are kept (default: .trellis/control-plane under the Trellis home).")
    Path dataDir;

    @Option(names = "--policy-dir", paramLabel = "DIR",
            description = "YAML policy files to keep applied; edits apply within a second.")
    Path policyDir;

    @Option(names = "--port", defaultValue = "15012", converter = Cli.PortConverter.class,
            description = "gRPC port: xDS (ADS) and registration (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--admin-port", defaultValue = "15014", converter = Cli.PortConverter.class,
            description = "HTTP admin port: REST API, /metrics, /health, /ready (default: ${DEFAULT-VALUE}).")
    int adminPort;

    @Option(names = "--bind", defaultValue = "127.0.0.1",
            description = "Address both ports listen on (default: ${DEFAULT-VALUE}; plaintext until TLS lands, so keep it on loopback).")
    String bind;

    @Option(names = "--grace-period", defaultValue = "5s",
            description = "How long an instance whose registration call broke stays in EDS (default: ${DEFAULT-VALUE}).")
    Duration gracePeriod;

    @Override
    public Integer call() throws Exception {
        Path data = dataDir != null ? dataDir
                : Path.of(System.getProperty("trellis.home", ".")).resolve(".trellis").resolve("control-plane");
        ControlPlane cp;
        try {
            cp = ControlPlane.builder().host(bind).port(port).adminPort(adminPort).dataDir(data).policyDir(policyDir)
                    .gracePeriod(gracePeriod).start();
        } catch (PolicyException e) {
            spec.commandLine().getErr().println("trellis control-plane: policy in " + policyDir + " refused:");
            e.errors().forEach(l -> spec.commandLine().getErr().println("  " + l));
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(cp::close, "trellis-shutdown"));
        spec.commandLine().getOut().printf("control plane: gRPC %s:%d, admin http://%s:%d, data %s%n",
                bind, cp.grpcPort(), bind, cp.adminPort(), data.toAbsolutePath());
        spec.commandLine().getOut().flush();
        cp.awaitTermination();
        return 0;
    }
}
