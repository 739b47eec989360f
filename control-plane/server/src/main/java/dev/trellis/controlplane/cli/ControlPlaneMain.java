package dev.trellis.controlplane.cli;

import dev.trellis.common.cli.Cli;
import dev.trellis.common.cli.NotAvailableYet;
import picocli.CommandLine.Command;

/** Entry point of the control-plane jar: the server itself and the operator commands. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis control plane and operator commands.",
        subcommands = {
                ControlPlaneCommand.class,
                ControlPlaneMain.Token.class,
                PolicyCommand.class,
                StatusCommand.class,
                ControlPlaneMain.Certs.class,
        })
public final class ControlPlaneMain {
    public static void main(String[] args) {
        Cli.main(new ControlPlaneMain(), args);
    }

    @Command(name = "token", description = "Create, list and revoke join tokens for sidecars.")
    static final class Token extends NotAvailableYet {}

    @Command(name = "certs", description = "Show and rotate the mesh CA.")
    static final class Certs extends NotAvailableYet {}
}
