package dev.trellis.sidecar.cli;

import dev.trellis.common.cli.Cli;
import dev.trellis.common.cli.NotAvailableYet;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.demo.DemoCommand;
import dev.trellis.sidecar.run.RunCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Entry point of the sidecar jar: the proxy, the gateway, {@code run} and the demo. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis sidecar proxy, ingress gateway and app launcher.",
        subcommands = {
                SidecarMain.SidecarCommand.class,
                RunCommand.class,
                SidecarMain.Gateway.class,
                DemoCommand.class,
        })
public final class SidecarMain {
    public static void main(String[] args) {
        Cli.main(new SidecarMain(), args);
    }

    @Command(name = "sidecar", mixinStandardHelpOptions = true,
            description = "Run a sidecar proxy from an Envoy v3 bootstrap (YAML or JSON). "
                    + "SIGHUP or POST /reload on the admin port re-reads the file.")
    static final class SidecarCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
                description = "Envoy v3 Bootstrap file (.yaml, .yml or .json).")
        Path config;

        @Option(names = "--io-threads", paramLabel = "N", description = "Event loop threads (default: ${DEFAULT-VALUE}).")
        int ioThreads = Math.max(2, Runtime.getRuntime().availableProcessors());

        @Option(names = "--check", description = "Only validate the bootstrap, print the result and exit.")
        boolean check;

        @Override
        public Integer call() throws Exception {
            if (!Files.isReadable(config)) {
                spec.commandLine().getErr().println("trellis sidecar: --config '" + config
                        + "' (expected: a readable bootstrap file)");
                return Cli.USAGE;
            }
            Sidecar sidecar;
            try {
                if (check) {
                    var c = BootstrapLoader.load(config);
                    spec.commandLine().getOut().println("bootstrap '" + config + "' is valid: "
                            + c.listeners().size() + " listener(s), " + c.clusters().size() + " cluster(s)");
                    return 0;
                }
                sidecar = Sidecar.start(() -> BootstrapLoader.load(config), ioThreads);
            } catch (ConfigException e) {
                spec.commandLine().getErr().println("trellis sidecar: " + e.getMessage());
                return 1;
            }
            spec.commandLine().getOut().println("trellis sidecar: listening on " + sidecar.listenerAddresses()
                    + (sidecar.adminAddress() == null ? "" : ", admin on " + sidecar.adminAddress())
                    + " (" + dev.trellis.sidecar.internal.Transports.name() + ")");
            spec.commandLine().getOut().flush();
            CountDownLatch stop = new CountDownLatch(1);
            SignalReload.install(sidecar);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                sidecar.close();
                stop.countDown();
            }, "trellis-shutdown"));
            stop.await();
            return 0;
        }
    }

    @Command(name = "gateway", description = "Run the ingress gateway (TLS, JWT, rate limits) into the mesh.")
    static final class Gateway extends NotAvailableYet {}
}
