package dev.trellis.common.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Base for a command whose feature has not landed: it keeps its place in {@code --help}
 * and says plainly that it cannot run yet, exiting 2.
 */
@Command(mixinStandardHelpOptions = true)
public abstract class NotAvailableYet implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println(
                "trellis " + spec.name() + ": not available yet in this build of Trellis.");
        return Cli.USAGE;
    }
}
