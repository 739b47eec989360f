package dev.trellis.sidecar.gateway;

import dev.trellis.common.cli.Cli;
import dev.trellis.common.cli.HostPort;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.identity.IdentityOptions;
import dev.trellis.sidecar.xds.MeshSidecar;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code trellis gateway}: the ingress gateway, configured by the control plane's Gateway policy NAME. */
@Command(name = "gateway", mixinStandardHelpOptions = true,
        description = {"Run the ingress gateway (TLS, JWT, rate limits, CORS) into the mesh, configured over xDS",
                "by the control plane from the Gateway policy document NAME."})
public final class GatewayCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--name", required = true, paramLabel = "NAME", description = "The Gateway policy document to serve.")
    String name;

    @Option(names = "--control-plane", required = true, paramLabel = "HOST:PORT", converter = Cli.HostPortConverter.class,
            description = "The control plane's gRPC address (ADS).")
    HostPort controlPlane;

    @Option(names = "--token-file", paramLabel = "FILE", description = "Join token for the gateway's identity (token create --service NAME).")
    Path tokenFile;

    @Option(names = "--ca-file", paramLabel = "FILE", description = "The mesh CA bundle: trust for the control plane and the mesh.")
    Path caFile;

    @Option(names = "--listen", paramLabel = "PORT", converter = Cli.PortConverter.class, description = "HTTPS port (default: the policy's port; 0 picks one).")
    Integer listen;

    @Option(names = "--http-listen", paramLabel = "PORT", converter = Cli.PortConverter.class, description = "Plain HTTP port (default: the policy's httpPort).")
    Integer httpListen;

    @Option(names = "--tls-cert", paramLabel = "FILE", description = "Certificate chain (PEM) of the HTTPS listener, reloaded when it changes.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "Private key (PEM) for --tls-cert.")
    Path tlsKey;

    @Option(names = "--admin-port", paramLabel = "N", converter = Cli.PortConverter.class,
            description = "Admin server port: /health, /ready, /metrics (default: ${DEFAULT-VALUE}).")
    int adminPort = MeshGateway.Options.DEFAULT_ADMIN_PORT;

    @Option(names = "--admin-address", paramLabel = "IP",
            description = "Address the admin server binds (default: ${DEFAULT-VALUE}); 0.0.0.0 lets Kubernetes probes reach it.")
    String adminAddress = MeshSidecar.Options.DEFAULT_ADMIN_ADDRESS;

    @Option(names = "--instance-id", paramLabel = "ID", description = "This gateway instance's id (default: NAME-<random>).")
    String instanceId;

    @Option(names = "--io-threads", paramLabel = "N", description = "Event loop threads (default: ${DEFAULT-VALUE}).")
    int ioThreads = Math.max(2, Runtime.getRuntime().availableProcessors());

    @Override
    public Integer call() throws Exception {
        var err = spec.commandLine().getErr();
        for (Path f : new Path[] {tlsCert, tlsKey, tokenFile, caFile}) {
            if (f != null && !Files.isReadable(f)) {
                err.println("trellis gateway: '" + f + "' (expected: a readable file)");
                return Cli.USAGE;
            }
        }
        MeshGateway.Options o;
        try {
            MeshGateway.Options d = MeshGateway.Options.of(name, controlPlane);
            o = new MeshGateway.Options(name, controlPlane, listen == null ? OptionalInt.empty() : OptionalInt.of(listen),
                    httpListen == null ? OptionalInt.empty() : OptionalInt.of(httpListen), Optional.ofNullable(tlsCert),
                    Optional.ofNullable(tlsKey), adminPort, instanceId != null ? instanceId : d.instanceId(),
                    Duration.ofSeconds(1), d.restartSettle(), ioThreads, adminAddress);
        } catch (IllegalArgumentException e) {
            err.println("trellis gateway: " + e.getMessage());
            return Cli.USAGE;
        }
        MeshGateway g;
        try {
            // the gateway is workload NAME of the mesh: TLS to the control plane, mTLS to services
            g = MeshGateway.start(o, new IdentityOptions(caFile, tokenFile));
        } catch (ConfigException e) {
            err.println("trellis gateway: " + e.getMessage());
            return 1;
        }
        spec.commandLine().getOut().println("trellis gateway: " + o.nodeId() + ", control plane " + controlPlane
                + ", admin on " + g.sidecar().adminAddress());
        spec.commandLine().getOut().flush();
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            g.close();
            stop.countDown();
        }, "trellis-shutdown"));
        stop.await();
        return 0;
    }
}
