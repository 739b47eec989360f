package dev.trellis.controlplane.cli;

import dev.trellis.common.cli.Cli;
import dev.trellis.common.cli.NotAvailableYet;
import picocli.CommandLine.Command;

/** Entry point of the control-plane jar: the server itself and the operator commands. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis control plane and operator commands.",
        subcommands = {
                ControlPlaneMain.ControlPlane.class,
                ControlPlaneMain.Token.class,
                ControlPlaneMain.Policy.class,
                ControlPlaneMain.Status.class,
                ControlPlaneMain.Certs.class,
        })
public final class ControlPlaneMain {
    public static void main(String[] args) {
        Cli.main(new ControlPlaneMain(), args);
    }

    @Command(name = "control-plane", description = "Run the control plane (registry, policy, CA, xDS).")
    static final class ControlPlane extends NotAvailableYet {}

    @Command(name = "token", description = "Create, list and revoke join tokens for sidecars.")
    static final class Token extends NotAvailableYet {}

    @Command(name = "policy", description = "Apply, get, validate, list history of and roll back mesh policy.")
    static final class Policy extends NotAvailableYet {}

    @Command(name = "status", description = "Show every proxy and whether its config is in sync.")
    static final class Status extends NotAvailableYet {}

    @Command(name = "certs", description = "Show and rotate the mesh CA.")
    static final class Certs extends NotAvailableYet {}
}
