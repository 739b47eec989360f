package dev.trellis.sidecar.cli;

import dev.trellis.common.cli.Cli;
import dev.trellis.common.cli.NotAvailableYet;
import picocli.CommandLine.Command;

/** Entry point of the sidecar jar: the proxy, the gateway, {@code run} and the demo. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis sidecar proxy, ingress gateway and app launcher.",
        subcommands = {
                SidecarMain.Sidecar.class,
                SidecarMain.Run.class,
                SidecarMain.Gateway.class,
                SidecarMain.Demo.class,
        })
public final class SidecarMain {
    public static void main(String[] args) {
        Cli.main(new SidecarMain(), args);
    }

    @Command(name = "sidecar", description = "Run a sidecar proxy from a bootstrap file or flags.")
    static final class Sidecar extends NotAvailableYet {}

    @Command(name = "run", description = "Run an app behind its sidecar: trellis run --service NAME --app-port N -- CMD...")
    static final class Run extends NotAvailableYet {}

    @Command(name = "gateway", description = "Run the ingress gateway (TLS, JWT, rate limits) into the mesh.")
    static final class Gateway extends NotAvailableYet {}

    @Command(name = "demo", description = "Run the whole mesh with the demo services on this machine.")
    static final class Demo extends NotAvailableYet {}
}
