package dev.trellis.sidecar.cli;

import dev.trellis.common.cli.Cli;
import dev.trellis.common.cli.HostPort;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.demo.DemoCommand;
import dev.trellis.sidecar.run.RunCommand;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.xds.MeshSidecar;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Entry point of the sidecar jar: the proxy, the gateway, {@code run} and the demo. */
@Command(name = "trellis", mixinStandardHelpOptions = true,
        description = "Trellis sidecar proxy, ingress gateway and app launcher.",
        subcommands = {
                SidecarMain.SidecarCommand.class,
                RunCommand.class,
                dev.trellis.sidecar.gateway.GatewayCommand.class,
                DemoCommand.class,
        })
public final class SidecarMain {
    /** Netty's JFR events, off unless the JVM was given {@value #NETTY_JFR}. */
    static final String NETTY_JFR = "io.netty.jfr.enabled";

    public static void main(String[] args) {
        // Netty's pooled allocator registers its JFR events when it first makes a chunk, which
        // initialises all of JFR on that thread: an event loop stalled 300-650 ms mid-traffic (seen
        // by the watchdog in a benchmark run), and JFR's classes stay loaded. Set before any Netty
        // class reads it; -Dio.netty.jfr.enabled=true turns the events back on.
        nettyJfrOffUnlessSet(System.getProperties());
        try {
            Sidecar.checkJvmProperties();
        } catch (IllegalArgumentException e) {
            System.err.println("trellis: " + e.getMessage());
            System.exit(Cli.USAGE);
        }
        Cli.main(new SidecarMain(), args);
    }

    static void nettyJfrOffUnlessSet(Properties jvm) {
        jvm.putIfAbsent(NETTY_JFR, "false");
    }

    @Command(name = "sidecar", mixinStandardHelpOptions = true, sortOptions = false,
            description = {
                    "Run a sidecar proxy, in one of two modes:",
                    "  trellis sidecar --config FILE           from an Envoy v3 bootstrap (YAML or JSON);"
                            + " SIGHUP or POST /reload on the admin port re-reads the file",
                    "  trellis sidecar --service NAME --app-port N --control-plane HOST:PORT [...]",
                    "                                          registered with the control plane, config over xDS (ADS)"})
    static final class SidecarCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = {"-c", "--config"}, paramLabel = "FILE",
                description = "Envoy v3 Bootstrap file (.yaml, .yml or .json): static mode.")
        Path config;

        @Option(names = "--check", description = "With --config: only validate the bootstrap, print the result and exit.")
        boolean check;

        @Option(names = "--service", paramLabel = "NAME", description = "Flags mode: the service this sidecar fronts.")
        String service;

        @Option(names = "--app-port", paramLabel = "N", converter = Cli.PortConverter.class,
                description = "Flags mode: the app's port on 127.0.0.1 (health: GET /health every second).")
        Integer appPort;

        @Option(names = "--app-grpc-port", paramLabel = "N", converter = Cli.PortConverter.class,
                description = "Flags mode: the app's gRPC port on 127.0.0.1, when it serves gRPC on a second port: inbound"
                        + " gRPC requests (content-type application/grpc) go there over h2c, the rest to --app-port.")
        Integer appGrpcPort;

        @Option(names = "--control-plane", paramLabel = "HOST:PORT", converter = Cli.HostPortConverter.class,
                description = "Flags mode: the control plane's gRPC address, registration and ADS (default: 127.0.0.1:15012).")
        HostPort controlPlane;

        @Option(names = "--admin-port", paramLabel = "N", converter = Cli.PortConverter.class,
                description = "Flags mode: admin server port: /health, /ready, /metrics, /config_dump (default: ${DEFAULT-VALUE}).")
        int adminPort = MeshSidecar.Options.DEFAULT_ADMIN_PORT;

        @Option(names = "--admin-address", paramLabel = "IP",
                description = "Flags mode: address the admin server binds (default: 127.0.0.1); 0.0.0.0 lets Kubernetes probes reach it.")
        String adminAddress;

        @Option(names = "--inbound-port", paramLabel = "N", converter = Cli.PortConverter.class,
                description = "Inbound listener that peers dial, forwarding to the app (default: ${DEFAULT-VALUE}).")
        int inboundPort = MeshSidecar.Options.DEFAULT_INBOUND_PORT;

        @Option(names = "--outbound-port", paramLabel = "N", converter = Cli.PortConverter.class,
                description = "Outbound listener on 127.0.0.1 routing by Host/authority (default: ${DEFAULT-VALUE}).")
        int outboundPort = MeshSidecar.Options.DEFAULT_OUTBOUND_PORT;

        @Option(names = "--upstream", paramLabel = "NAME=PORT",
                description = "A service this app calls, reachable at http://127.0.0.1:PORT/ (repeatable). "
                        + "When given, the sidecar only gets config for these services.")
        Map<String, String> upstreams = new LinkedHashMap<>();

        @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Instance label such as version=v2 or zone=a (repeatable).")
        Map<String, String> labels = new LinkedHashMap<>();

        @Option(names = "--instance-id", paramLabel = "ID", description = "Unique instance id (default: <service>-<random hex>).")
        String instanceId;

        @Option(names = "--address", paramLabel = "ADDR",
                description = "Address peers dial to reach the inbound port (default: ${DEFAULT-VALUE}).")
        String address = "127.0.0.1";

        @Option(names = "--protocol", paramLabel = "PROTO", description = "The app's protocol: http, http2 or grpc (default: ${DEFAULT-VALUE}).")
        String protocol = "http";

        @Option(names = "--io-threads", paramLabel = "N",
                description = "Event loop threads (default: the CPUs this JVM may use, ${DEFAULT-VALUE} here).")
        int ioThreads = Sidecar.defaultIoThreads();

        @Option(names = "--ca-file", paramLabel = "PEM",
                description = "Flags mode: the mesh trust bundle (the control plane's ca-bundle.pem), trusted for the control"
                        + " plane's TLS port and for peers (default: .trellis/control-plane/ca-bundle.pem under the Trellis home).")
        Path caFile;

        @Option(names = "--token-file", paramLabel = "FILE",
                description = "Flags mode: the join token ('trellis token create --service NAME') for the first certificate.")
        Path tokenFile;

        @Override
        public Integer call() throws Exception {
            boolean flags = service != null || appPort != null || appGrpcPort != null || controlPlane != null
                    || !upstreams.isEmpty() || !labels.isEmpty() || instanceId != null;
            if (config != null && flags) {
                throw new ParameterException(spec.commandLine(), "--config and --service/--app-port/--app-grpc-port/--control-plane/"
                        + "--upstream/--label/--instance-id: two modes given (expected: either --config FILE or the flags)");
            }
            if (config != null && adminAddress != null) {
                throw new ParameterException(spec.commandLine(), "--admin-address: only in flags mode"
                        + " (expected: the bootstrap's admin.address with --config)");
            }
            if (config == null) {
                if (!flags) {
                    throw new ParameterException(spec.commandLine(), "no mode given (expected: --config FILE, or "
                            + "--service NAME --app-port N [--control-plane HOST:PORT])");
                }
                if (check) {
                    throw new ParameterException(spec.commandLine(), "--check: only with --config FILE");
                }
                return flagsMode();
            }
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

        /** The options of flags mode, checked; bad values name their option. */
        MeshSidecar.Options options() {
            for (String[] required : new String[][] {{"--service", service}, {"--app-port", appPort == null ? null : "x"}}) {
                if (required[1] == null) {
                    throw new ParameterException(spec.commandLine(), "Missing required option: '" + required[0]
                            + "' (flags mode needs --service NAME and --app-port N)");
                }
            }
            HostPort cp = controlPlane != null ? controlPlane : new HostPort("127.0.0.1", 15012);
            Map<String, Integer> ups = new LinkedHashMap<>();
            upstreams.forEach((name, port) -> {
                int p;
                try {
                    p = Integer.parseInt(port.trim());
                } catch (NumberFormatException e) {
                    p = -1;
                }
                if (p < 0 || p > 65535) {
                    throw new ParameterException(spec.commandLine(), "--upstream: '" + name + "=" + port
                            + "' (expected: NAME=PORT with PORT 0..65535)");
                }
                ups.put(name, p);
            });
            try {
                MeshSidecar.Options o = MeshSidecar.Options.of(service, appPort, cp);
                return o.withPorts(adminPort, inboundPort, outboundPort).withUpstreams(ups)
                        .withIdentity(instanceId != null ? instanceId : o.instanceId(), address, protocol, labels)
                        .withTiming(o.health(), o.deregisterTimeout(), o.restartSettle(), ioThreads)
                        .withAdminAddress(adminAddress != null ? adminAddress : MeshSidecar.Options.DEFAULT_ADMIN_ADDRESS)
                        .withAppGrpcPort(appGrpcPort == null ? 0 : appGrpcPort);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
        }

        private int flagsMode() throws InterruptedException {
            MeshSidecar.Options o = options();
            MeshSidecar mesh;
            try {
                mesh = MeshSidecar.start(o, new IdentityOptions(caFile, tokenFile));
            } catch (ConfigException e) {
                spec.commandLine().getErr().println("trellis sidecar: " + e.getMessage());
                return 1;
            }
            spec.commandLine().getOut().println("trellis sidecar: " + o.service() + " instance " + o.instanceId()
                    + ", app on 127.0.0.1:" + o.appPort() + (o.appGrpcPort() > 0 ? " (gRPC :" + o.appGrpcPort() + ")" : "")
                    + ", control plane " + o.controlPlane()
                    + ", admin on " + mesh.sidecar().adminAddress());
            spec.commandLine().getOut().flush();
            CountDownLatch stop = new CountDownLatch(1);
            SignalReload.install(mesh.sidecar());
            Thread hook = new Thread(() -> {
                mesh.close();
                stop.countDown();
            }, "trellis-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            mesh.failed().whenComplete((v, e) -> stop.countDown());
            stop.await();
            if (mesh.failed().isCompletedExceptionally()) {
                Runtime.getRuntime().removeShutdownHook(hook);
                mesh.abort();
                String why = mesh.failed().handle((v, e) -> e.getMessage()).join();
                spec.commandLine().getErr().println("trellis sidecar: " + why);
                return 1;
            }
            return 0;
        }
    }

}
