package dev.trellis.controlplane.cli;

import dev.trellis.common.cli.Cli;
import picocli.CommandLine.Command;

/** Entry point of the control-plane jar: the server itself and the operator commands. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis control plane and operator commands.",
        subcommands = {
                ControlPlaneCommand.class,
                TokenCommand.class,
                PolicyCommand.class,
                StatusCommand.class,
                CertsCommand.class,
        })
public final class ControlPlaneMain {
    public static void main(String[] args) {
        Cli.main(new ControlPlaneMain(), args);
    }
}
