package dev.trellis.sidecar.run;

import dev.trellis.common.cli.Cli;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code trellis run}: an app behind its sidecar, with lossless stop on SIGTERM. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Run an app behind its sidecar: start the sidecar, wait until it is ready, then start the app with "
                        + "TRELLIS_UPSTREAM_<NAME>_URL=http://127.0.0.1:<port> for every --upstream.",
                "On SIGTERM or SIGINT the sidecar deregisters, waits until the proxies that call this service have "
                        + "acknowledged the removal and drains; then the app gets SIGTERM (SIGKILL after --app-stop-timeout). "
                        + "The exit code is the app's. A second signal kills both at once."},
        footer = {"", "Example:",
                "  trellis run --service user-service --app-port 8080 --control-plane 127.0.0.1:15012 \\",
                "      --upstream notification-service=15101 -- java -jar user-service.jar --port 8080"})
public final class RunCommand implements Callable<Integer> {
    private final BiFunction<List<String>, List<String>, List<String>> sidecarCommand;

    @Spec
    CommandSpec spec;

    /** The sidecar runs as a child JVM on this JVM's class path. */
    public RunCommand() {
        this(Supervisor::sidecarCommand);
    }

    /** @param sidecarCommand (java options, sidecar arguments) to the sidecar's whole command line */
    RunCommand(BiFunction<List<String>, List<String>, List<String>> sidecarCommand) {
        this.sidecarCommand = sidecarCommand;
    }

    @Option(names = "--service", required = true, paramLabel = "NAME", description = "Service name the sidecar registers.")
    String service;

    @Option(names = "--app-port", required = true, paramLabel = "N", converter = Cli.PortConverter.class,
            description = "The app's port on loopback, where the sidecar sends inbound traffic.")
    int appPort;

    @Option(names = "--app-grpc-port", paramLabel = "N", converter = Cli.PortConverter.class,
            description = "The app's gRPC port on loopback, when it serves gRPC on a second port (passed to the sidecar).")
    Integer appGrpcPort;

    @Option(names = "--upstream", paramLabel = "NAME=PORT",
            description = "A service the app calls and the local port the sidecar serves it on (repeatable); "
                    + "the app gets TRELLIS_UPSTREAM_<NAME>_URL.")
    List<String> upstreams = new ArrayList<>();

    @Option(names = "--control-plane", paramLabel = "HOST:PORT", description = "Control plane address (passed to the sidecar).")
    String controlPlane;

    @Option(names = "--admin-port", paramLabel = "N", converter = Cli.PortConverter.class,
            description = "Sidecar admin port; run polls its /ready (default: ${DEFAULT-VALUE}).")
    int adminPort = 15000;

    @Option(names = "--admin-address", paramLabel = "IP",
            description = "Address the sidecar's admin server binds (passed to the sidecar; default: 127.0.0.1); run polls /ready there"
                    + " (on 127.0.0.1 for 0.0.0.0).")
    String adminAddress;

    @Option(names = "--inbound-port", paramLabel = "N", description = "Sidecar inbound port (passed to the sidecar).")
    Integer inboundPort;

    @Option(names = "--outbound-port", paramLabel = "N", description = "Sidecar outbound port (passed to the sidecar).")
    Integer outboundPort;

    @Option(names = "--label", paramLabel = "K=V", description = "Instance label (repeatable; passed to the sidecar).")
    List<String> labels = new ArrayList<>();

    @Option(names = "--ca-file", paramLabel = "FILE", description = "Mesh CA bundle (passed to the sidecar).")
    Path caFile;

    @Option(names = "--token-file", paramLabel = "FILE", description = "Join token (passed to the sidecar).")
    Path tokenFile;

    @Option(names = "--sidecar-arg", paramLabel = "ARG",
            description = "Any other argument for the sidecar, as is (repeatable).")
    List<String> sidecarExtra = new ArrayList<>();

    @Option(names = "--sidecar-java-opts", paramLabel = "OPTS",
            description = "JVM options of the sidecar process, space separated (default: the sidecar's defaults, then "
                    + "$TRELLIS_SIDECAR_JAVA_OPTS: ${DEFAULT-VALUE}).")
    String sidecarJavaOpts = String.join(" ", dev.trellis.sidecar.cli.JvmDefaults.options(
            System.getenv(dev.trellis.sidecar.cli.JvmDefaults.ENV)));

    @Option(names = "--sidecar-log", paramLabel = "FILE",
            description = "Append the sidecar's output to FILE instead of this process's output.")
    Path sidecarLog;

    @Option(defaultValue = "60s", names = "--ready-timeout", paramLabel = "DURATION",
            description = "Bound on the sidecar becoming ready (default: ${DEFAULT-VALUE}).")
    Duration readyTimeout;

    @Option(defaultValue = "15s", names = "--removal-timeout", paramLabel = "DURATION",
            description = "Bound, after SIGTERM, on the sidecar deregistering, waiting for the removal acknowledgement "
                    + "and draining; then it is killed (default: ${DEFAULT-VALUE}).")
    Duration removalTimeout;

    @Option(defaultValue = "15s", names = "--app-stop-timeout", paramLabel = "DURATION",
            description = "Bound on the app stopping after SIGTERM before SIGKILL (default: ${DEFAULT-VALUE}).")
    Duration appStopTimeout;

    @Option(names = "--parent-pid", paramLabel = "PID",
            description = "Stop gracefully when process PID ends (used by trellis demo, so nothing outlives it).")
    Long parentPid;

    @Parameters(paramLabel = "COMMAND", arity = "1..*", description = "The app's command line (after --).")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        RunSpec runSpec;
        try {
            runSpec = toSpec();
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("trellis run: " + e.getMessage());
            return Cli.USAGE;
        }
        List<String> javaOpts = sidecarJavaOpts.isBlank() ? List.of() : Arrays.asList(sidecarJavaOpts.trim().split("\\s+"));
        Supervisor supervisor = new Supervisor(runSpec, sidecarCommand.apply(javaOpts, runSpec.sidecarArgs()));
        Signals.onTerminate(supervisor::stop);
        if (parentPid != null) {
            ProcessHandle.of(parentPid).ifPresentOrElse(
                    p -> p.onExit().thenRun(() -> supervisor.stop("parent process " + parentPid + " ended")),
                    () -> supervisor.stop("parent process " + parentPid + " is not running"));
        }
        return supervisor.run();
    }

    RunSpec toSpec() {
        if (adminAddress != null) {
            dev.trellis.sidecar.xds.MeshSidecar.Options.checkAdminAddress(adminAddress);
        }
        Map<String, Integer> ups = new LinkedHashMap<>();
        for (String u : upstreams) {
            var e = RunSpec.parseUpstream(u);
            if (ups.put(e.getKey(), e.getValue()) != null) {
                throw new IllegalArgumentException("--upstream '" + u + "': " + e.getKey() + " is given twice");
            }
        }
        return new RunSpec(service, adminPort, ups, sidecarArgs(), command, readyTimeout, removalTimeout,
                appStopTimeout, Optional.ofNullable(sidecarLog), Optional.ofNullable(adminAddress));
    }

    /** The sidecar's arguments: run's own options that the sidecar shares, then --sidecar-arg as given. */
    List<String> sidecarArgs() {
        List<String> args = new ArrayList<>(List.of("--service", service, "--app-port", String.valueOf(appPort),
                "--admin-port", String.valueOf(adminPort)));
        if (adminAddress != null) {
            args.addAll(List.of("--admin-address", adminAddress));
        }
        if (appGrpcPort != null) {
            args.addAll(List.of("--app-grpc-port", String.valueOf(appGrpcPort)));
        }
        if (controlPlane != null) {
            args.addAll(List.of("--control-plane", controlPlane));
        }
        if (inboundPort != null) {
            args.addAll(List.of("--inbound-port", String.valueOf(inboundPort)));
        }
        if (outboundPort != null) {
            args.addAll(List.of("--outbound-port", String.valueOf(outboundPort)));
        }
        for (String u : upstreams) {
            args.addAll(List.of("--upstream", u));
        }
        for (String l : labels) {
            args.addAll(List.of("--label", l));
        }
        if (caFile != null) {
            args.addAll(List.of("--ca-file", caFile.toString()));
        }
        if (tokenFile != null) {
            args.addAll(List.of("--token-file", tokenFile.toString()));
        }
        args.addAll(sidecarExtra);
        return args;
    }
}
