package dev.trellis.bench;

import dev.trellis.common.cli.Cli;
import dev.trellis.common.cli.NotAvailableYet;
import picocli.CommandLine.Command;

/** Entry point of the benchmarks jar. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis benchmarks.",
        subcommands = BenchMain.Bench.class)
public final class BenchMain {
    public static void main(String[] args) {
        Cli.main(new BenchMain(), args);
    }

    @Command(name = "bench", description = "Measure the sidecar against direct calls, HAProxy and nginx.")
    static final class Bench extends NotAvailableYet {}
}
