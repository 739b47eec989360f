package dev.trellis.sidecar.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.trellis.common.cli.Cli;
import dev.trellis.sidecar.cli.SidecarMain;
import dev.trellis.sidecar.run.Signals;
import dev.trellis.sidecar.run.Supervisor;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code trellis demo}: the control plane, two user-service instances and one notification-service
 * instance (each under {@code trellis run}) and the edge gateway as processes on this machine, with
 * the demo policy applied. Data and logs live in one folder; Ctrl-C stops everything in order
 * (gateway, services, control plane) and leaves no process behind.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run the whole mesh with the demo services on this machine: the control plane, two user-service "
                + "instances and one notification-service instance behind their sidecars, and the edge gateway.",
                "Prints the gateway URL, a demo JWT and commands to try. Ctrl-C stops everything."})
public final class DemoCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> CHILD_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Xmx256m");

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Folder for every process's data and log (default: .trellis/demo under the Trellis home).")
    Path dir;

    @Option(names = "--clean", description = "Delete the folder's data first (users, notifications, CA, tokens).")
    boolean clean;

    @Option(names = "--control-plane-port", paramLabel = "N", converter = Cli.PortConverter.class,
            description = "Control plane gRPC port (default: ${DEFAULT-VALUE}).")
    int controlPlanePort = 15012;

    @Option(names = "--control-plane-admin-port", paramLabel = "N", converter = Cli.PortConverter.class,
            description = "Control plane admin port (default: ${DEFAULT-VALUE}).")
    int controlPlaneAdminPort = 15014;

    @Option(names = "--gateway-port", paramLabel = "N", converter = Cli.PortConverter.class,
            description = "Gateway HTTPS port (default: ${DEFAULT-VALUE}).")
    int gatewayPort = 8443;

    @Option(names = "--port-base", paramLabel = "N",
            description = "The services and sidecars use ports N+1 .. N+99 (default: ${DEFAULT-VALUE}).")
    int portBase = 15100;

    @Option(defaultValue = "120s", names = "--ready-timeout", paramLabel = "DURATION",
            description = "Bound on each process becoming ready (default: ${DEFAULT-VALUE}).")
    Duration readyTimeout;

    @Option(names = "--parent-pid", paramLabel = "PID",
            description = "Stop everything, as Ctrl-C does, when process PID ends (for scripts and tests).")
    Long parentPid;

    @Option(names = "--print-policy", description = "Print the mesh policy the demo applies (paths under --dir) and exit.")
    boolean printPolicy;

    private final CompletableFuture<String> stopRequested = new CompletableFuture<>();
    private final List<ChildProcess> started = new ArrayList<>();
    /**
     * Made on first use: picocli builds every subcommand of the sidecar's CLI at start, and a JDK
     * HttpClient cost every sidecar a selector thread and about 160 classes (measured with -Xlog:class+load).
     */
    private HttpClient http;
    private PrintWriter out;
    private PrintWriter err;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        Path home = Path.of(System.getProperty("trellis.home", ".")).toAbsolutePath().normalize();
        Path folder = (dir != null ? dir : home.resolve(".trellis/demo")).toAbsolutePath().normalize();
        DemoPorts ports;
        try {
            ports = new DemoPorts(controlPlanePort, controlPlaneAdminPort, gatewayPort, portBase);
        } catch (IllegalArgumentException e) {
            err.println("trellis demo: " + e.getMessage());
            return Cli.USAGE;
        }
        if (printPolicy) {
            Path gw = folder.resolve("gateway");
            out.print(DemoPolicy.yaml(ports.gateway(), gw.resolve("jwks.json"), gw.resolve("edge.crt"), gw.resolve("edge.key")));
            out.flush();
            return 0;
        }
        Path cpJar = home.resolve("control-plane/server/target/trellis-control-plane.jar");
        Path userJar = home.resolve("demo-services/user-service/target/user-service.jar");
        Path notificationJar = home.resolve("demo-services/notification-service/target/notification-service.jar");
        for (Path jar : List.of(cpJar, userJar, notificationJar)) {
            if (!Files.isRegularFile(jar)) {
                err.println("trellis demo: " + jar + " is missing (expected: the jars built by ./trellis or mvn -DskipTests package;"
                        + " set the Trellis home with -Dtrellis.home=DIR)");
                return 1;
            }
        }
        String busy = busyPorts(ports);
        if (!busy.isEmpty()) {
            err.println("trellis demo: port(s) " + busy + " in use (expected: free; is another demo running?"
                    + " Stop it, or pick other ports with --port-base / --control-plane-port / --gateway-port)");
            return 1;
        }
        Signals.onTerminate(why -> {
            if (!stopRequested.complete(why)) {
                err.println("trellis demo: " + why + " again: killing every process now");
                err.flush();
                synchronized (started) {
                    started.forEach(ChildProcess::kill);
                }
            }
        });
        if (parentPid != null) {
            var parent = ProcessHandle.of(parentPid);
            if (parent.isEmpty()) {
                err.println("trellis demo: --parent-pid " + parentPid + " (expected: a running process)");
                return Cli.USAGE;
            }
            parent.get().onExit().thenRun(() -> stopRequested.complete("parent process " + parentPid + " ended"));
        }
        try {
            return runDemo(home, folder, ports, cpJar, userJar, notificationJar);
        } finally {
            stopRequested.complete("demo ending"); // no restart after this point
            stopAll();
        }
    }

    private int runDemo(Path home, Path folder, DemoPorts ports, Path cpJar, Path userJar,
                        Path notificationJar) throws Exception {
        Path logs = folder.resolve("logs");
        Path cpData = folder.resolve("control-plane");
        if (clean && Files.exists(folder)) {
            deleteTree(folder);
        }
        Files.createDirectories(logs);
        out.println("trellis demo: data and logs in " + folder);
        out.flush();
        String java = Supervisor.javaBinary();
        String sidecarCp = Supervisor.classPath();

        // 1. control plane
        List<String> cp = new ArrayList<>(List.of(java));
        cp.addAll(CHILD_JVM);
        cp.addAll(List.of("-Dtrellis.home=" + home, "-jar", cpJar.toString(), "control-plane", "--data-dir", cpData.toString(),
                "--port", String.valueOf(ports.controlPlane()), "--admin-port", String.valueOf(ports.controlPlaneAdmin())));
        ChildProcess controlPlane = start("control-plane", cp, logs.resolve("control-plane.log"), folder);
        String adminUrl = "http://127.0.0.1:" + ports.controlPlaneAdmin();
        if (!awaitReady(controlPlane, URI.create(adminUrl + "/ready"))) {
            return 1;
        }
        Path adminToken = cpData.resolve("admin.token");
        Path bundle = cpData.resolve("ca-bundle.pem");
        for (Path file : List.of(bundle, adminToken)) {
            if (!Files.isRegularFile(file)) {
                // the control plane writes both before it reports ready; the sidecars need them to join the mesh
                err.println("trellis demo: control plane did not write " + file + " (expected: its trust bundle and admin"
                        + " token in --data-dir; log: " + controlPlane.log + ")");
                return 1;
            }
        }
        step("control plane ready: gRPC 127.0.0.1:" + ports.controlPlane() + ", admin " + adminUrl);

        // 2. demo JWT key, gateway certificate, policy
        Path gwDir = folder.resolve("gateway");
        Files.createDirectories(gwDir);
        DemoKeys keys = DemoKeys.generate();
        Path jwks = gwDir.resolve("jwks.json");
        Files.writeString(jwks, keys.jwks());
        String jwt = keys.token(DemoPolicy.ISSUER, List.of(DemoPolicy.AUDIENCE), "demo-user", Instant.now(), Duration.ofHours(12));
        Files.writeString(folder.resolve("demo.jwt"), jwt + "\n");
        Path edgeCert = gwDir.resolve("edge.crt");
        Path edgeKey = gwDir.resolve("edge.key");
        EdgeCertificate.ensure(edgeCert, edgeKey, Instant.now());
        Path policy = folder.resolve("policy/demo.yaml");
        Files.createDirectories(policy.getParent());
        Files.writeString(policy, DemoPolicy.yaml(ports.gateway(), jwks, edgeCert, edgeKey));
        List<String> apply = List.of(java, "-XX:TieredStopAtLevel=1", "-jar", cpJar.toString(), "policy", "apply",
                "-f", policy.toString(), "--control-plane-admin", adminUrl, "--admin-token-file", adminToken.toString());
        ChildProcess applied = ChildProcess.start("policy apply", apply, logs.resolve("policy.log"), folder);
        if (!applied.awaitExit(Duration.ofSeconds(60)) || applied.process.exitValue() != 0) {
            applied.kill();
            err.println("trellis demo: applying " + policy + " failed:\n" + applied.tail(20));
            return 1;
        }
        step("policy applied: " + folder.relativize(policy) + " (retries and timeouts, AccessPolicy, Gateway '"
                + DemoPolicy.GATEWAY + "' with JWT on /api/)");

        // 3. services, each under trellis run
        List<Service> services = new ArrayList<>();
        for (int i = 1; i <= DemoPorts.USER_INSTANCES; i++) {
            List<String> app = new ArrayList<>(List.of(java));
            app.addAll(CHILD_JVM);
            app.addAll(List.of("-jar", userJar.toString(), "--host", "127.0.0.1", "--port", String.valueOf(ports.userHttp(i)),
                    "--grpc-port", String.valueOf(ports.userGrpc(i)), "--data-dir", folder.resolve("user-service").toString(),
                    "--shared-db"));
            services.add(new Service("user-service", "user-service-" + i, i, ports.userHttp(i), ports.userGrpc(i),
                    "notification-service", app));
        }
        List<String> napp = new ArrayList<>(List.of(java));
        napp.addAll(CHILD_JVM);
        napp.addAll(List.of("-jar", notificationJar.toString(), "--host", "127.0.0.1", "--port", String.valueOf(ports.notificationHttp()),
                "--data-dir", folder.resolve("notification-service").toString()));
        // notification-service may call user-service through its sidecar only to show the AccessPolicy's 403
        services.add(new Service("notification-service", "notification-service-1", ports.notificationSlot(),
                ports.notificationHttp(), 0, "user-service", napp));
        Path tokens = folder.resolve("tokens");
        for (Service s : services) {
            List<String> run = new ArrayList<>(List.of(java));
            run.addAll(CHILD_JVM);
            run.addAll(List.of("-Dtrellis.home=" + home, "-cp", sidecarCp, SidecarMain.class.getName(), "run",
                    "--service", s.service, "--app-port", String.valueOf(s.appPort),
                    "--control-plane", "127.0.0.1:" + ports.controlPlane(),
                    "--admin-port", String.valueOf(ports.sidecarAdmin(s.slot)),
                    "--inbound-port", String.valueOf(ports.sidecarInbound(s.slot)),
                    "--outbound-port", String.valueOf(ports.sidecarOutbound(s.slot)),
                    "--upstream", s.upstream + "=" + ports.upstreamPort(s.slot),
                    "--label", "version=v1",
                    "--sidecar-log", logs.resolve(s.instance + ".sidecar.log").toString(),
                    "--ready-timeout", readyTimeout.toSeconds() + "s",
                    "--parent-pid", String.valueOf(ProcessHandle.current().pid())));
            if (s.grpcPort > 0) {
                // gRPC through the mesh: the sidecar's inbound listener sends gRPC requests to this port
                run.addAll(List.of("--app-grpc-port", String.valueOf(s.grpcPort)));
            }
            run.addAll(List.of("--sidecar-arg", "--instance-id", "--sidecar-arg", s.instance));
            Path token = tokens.resolve(s.instance + ".token");
            writeSecret(token, createToken(adminUrl, adminToken, s.service));
            run.addAll(List.of("--ca-file", bundle.toString(), "--token-file", token.toString()));
            run.add("--");
            run.addAll(s.app);
            s.command = run;
            s.log = logs.resolve(s.instance + ".log");
            s.process = start(s.instance, run, s.log, folder);
        }
        // 4. gateway, started while the services start (it needs none of them to be ready)
        List<String> gw = new ArrayList<>(List.of(java));
        gw.addAll(CHILD_JVM);
        gw.addAll(List.of("-Dtrellis.home=" + home, "-cp", sidecarCp, SidecarMain.class.getName(), "gateway",
                "--name", DemoPolicy.GATEWAY, "--control-plane", "127.0.0.1:" + ports.controlPlane(),
                "--listen", String.valueOf(ports.gateway()), "--tls-cert", edgeCert.toString(), "--tls-key", edgeKey.toString(),
                "--admin-port", String.valueOf(ports.gatewayAdmin())));
        Path gatewayToken = tokens.resolve(DemoPolicy.GATEWAY + ".token");
        writeSecret(gatewayToken, createToken(adminUrl, adminToken, DemoPolicy.GATEWAY));
        gw.addAll(List.of("--ca-file", bundle.toString(), "--token-file", gatewayToken.toString()));
        ChildProcess gatewayProcess = start("gateway", gw, logs.resolve("gateway.log"), folder);

        for (Service s : services) {
            if (!awaitReady(s.process, URI.create("http://127.0.0.1:" + ports.sidecarAdmin(s.slot) + "/ready"))
                    || !awaitReady(s.process, URI.create("http://127.0.0.1:" + s.appPort + "/ready"))) {
                return 1;
            }
            step(s.instance + " ready: app 127.0.0.1:" + s.appPort + ", sidecar admin 127.0.0.1:" + ports.sidecarAdmin(s.slot)
                    + ", inbound :" + ports.sidecarInbound(s.slot));
        }

        if (!awaitReady(gatewayProcess, URI.create("http://127.0.0.1:" + ports.gatewayAdmin() + "/ready"))) {
            return 1;
        }
        step("gateway ready: https://localhost:" + ports.gateway());

        // an instance that stops (a rolling restart: kill -TERM its trellis run) is started again, as a
        // process manager would; the control plane or the gateway stopping ends the demo
        for (Service s : services) {
            restartOnExit(s, folder);
        }
        writeState(folder, ports, jwt, edgeCert, adminToken);
        printBanner(folder, ports, jwt, edgeCert, adminToken, home);

        // 5. run until Ctrl-C or until a process ends on its own
        List<CompletableFuture<?>> watched = new ArrayList<>();
        watched.add(stopRequested);
        synchronized (started) {
            started.stream().filter(c -> c.name.equals("control-plane") || c.name.equals("gateway"))
                    .forEach(c -> watched.add(c.process.onExit()));
        }
        CompletableFuture.anyOf(watched.toArray(CompletableFuture[]::new)).join();
        if (stopRequested.isDone()) {
            out.println();
            out.println("trellis demo: " + stopRequested.join() + ": stopping the gateway, the services (each sidecar"
                    + " deregisters first), then the control plane...");
            out.flush();
            return 0;
        }
        synchronized (started) {
            for (ChildProcess c : started) {
                if (!c.alive() && (c.name.equals("control-plane") || c.name.equals("gateway"))) {
                    err.println("trellis demo: " + c.name + " exited with code " + c.process.exitValue()
                            + " (log: " + c.log + "); stopping the demo. Its last lines:\n" + c.tail(15));
                }
            }
        }
        return 1;
    }

    private void restartOnExit(Service s, Path folder) {
        ChildProcess current = s.process;
        current.process.onExit().thenRunAsync(() -> {
            synchronized (started) {
                if (stopRequested.isDone()) {
                    return;
                }
                started.remove(current);
                s.restarts++;
                out.println("trellis demo: " + s.instance + " exited with code " + current.process.exitValue()
                        + "; starting it again (restart " + s.restarts + ", log: " + s.log + ")");
                out.flush();
                try {
                    s.process = start(s.instance, s.command, s.log, folder);
                } catch (IOException e) {
                    err.println("trellis demo: cannot restart " + s.instance + ": " + e.getMessage());
                    stopRequested.complete("restart of " + s.instance + " failed");
                    return;
                }
            }
            restartOnExit(s, folder);
        }, CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS));
    }

    /** One service instance under trellis run. */
    private static final class Service {
        final String service;
        final String instance;
        final int slot;
        final int appPort;
        final int grpcPort;
        final String upstream;
        final List<String> app;
        List<String> command;
        Path log;
        volatile ChildProcess process;
        int restarts;

        Service(String service, String instance, int slot, int appPort, int grpcPort, String upstream, List<String> app) {
            this.service = service;
            this.instance = instance;
            this.slot = slot;
            this.appPort = appPort;
            this.grpcPort = grpcPort;
            this.upstream = upstream;
            this.app = app;
        }
    }

    private ChildProcess start(String name, List<String> command, Path log, Path workDir) throws IOException {
        if (stopRequested.isDone()) {
            throw new IOException("stopping: " + stopRequested.join());
        }
        ChildProcess c = ChildProcess.start(name, command, log, workDir);
        synchronized (started) {
            started.add(c);
        }
        return c;
    }

    private void step(String line) {
        out.println("  " + line);
        out.flush();
    }

    /** Polls {@code url} until 200; false (after saying why) when the process ends, the bound passes or a stop is asked. */
    private boolean awaitReady(ChildProcess owner, URI url) throws InterruptedException {
        long deadline = System.nanoTime() + readyTimeout.toNanos();
        int last = -1;
        while (true) {
            if (stopRequested.isDone()) {
                return false;
            }
            if (!owner.alive()) {
                err.println("trellis demo: " + owner.name + " exited with code " + owner.process.exitValue()
                        + " before it was ready (log: " + owner.log + "). Its last lines:\n" + owner.tail(20));
                return false;
            }
            try {
                last = http().send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                if (last == 200) {
                    return true;
                }
            } catch (IOException e) {
                last = -1;
            }
            if (System.nanoTime() - deadline >= 0) {
                err.println("trellis demo: " + owner.name + " not ready after " + readyTimeout.toSeconds() + " s: GET " + url
                        + " -> " + (last < 0 ? "no answer" : last) + " (log: " + owner.log + ")");
                return false;
            }
            try {
                stopRequested.get(200, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                // poll again
            }
        }
    }

    private String createToken(String adminUrl, Path adminToken, String service) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("service", service).put("ttl", "24h");
        HttpResponse<String> r = http().send(HttpRequest.newBuilder(URI.create(adminUrl + "/api/v1/tokens"))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + Files.readString(adminToken).strip())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("join token for " + service + ": POST " + adminUrl + "/api/v1/tokens -> " + r.statusCode()
                    + " " + r.body());
        }
        JsonNode j = JSON.readTree(r.body());
        return j.path("token").asText();
    }

    private static void writeSecret(Path file, String secret) throws IOException {
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, secret + "\n", StandardCharsets.UTF_8);
    }

    private static String busyPorts(DemoPorts p) {
        List<Integer> ports = new ArrayList<>(List.of(p.controlPlane(), p.controlPlaneAdmin(), p.gateway(), p.gatewayAdmin()));
        for (int i = 1; i <= DemoPorts.USER_INSTANCES; i++) {
            ports.addAll(List.of(p.userHttp(i), p.userGrpc(i)));
        }
        ports.add(p.notificationHttp());
        for (int slot = 1; slot <= p.notificationSlot(); slot++) {
            ports.addAll(List.of(p.sidecarAdmin(slot), p.sidecarInbound(slot), p.sidecarOutbound(slot), p.upstreamPort(slot)));
        }
        List<String> busy = new ArrayList<>();
        for (int port : ports) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            } catch (IOException e) {
                busy.add(String.valueOf(port));
            }
        }
        return String.join(", ", busy);
    }

    /** Gateway first, then the services (each stops its sidecar first), then the control plane; then whatever is left is killed. */
    private void stopAll() throws InterruptedException {
        List<ChildProcess> all;
        synchronized (started) {
            all = new ArrayList<>(started);
        }
        if (all.isEmpty()) {
            return;
        }
        List<ChildProcess> gateway = all.stream().filter(c -> c.name.equals("gateway")).toList();
        List<ChildProcess> cp = all.stream().filter(c -> c.name.equals("control-plane")).toList();
        List<ChildProcess> services = all.stream().filter(c -> !gateway.contains(c) && !cp.contains(c)).toList();
        stopGroup(gateway, Duration.ofSeconds(20));
        stopGroup(services, Duration.ofSeconds(45));
        stopGroup(cp, Duration.ofSeconds(20));
        long left = all.stream().filter(ChildProcess::alive).count();
        out.println("trellis demo: stopped" + (left == 0 ? "; no process left running." : " (" + left + " killed)."));
        out.flush();
    }

    private void stopGroup(List<ChildProcess> group, Duration bound) throws InterruptedException {
        group.forEach(ChildProcess::terminate);
        for (ChildProcess c : group) {
            if (!c.awaitExit(bound)) {
                err.println("trellis demo: " + c.name + " still running " + bound.toSeconds() + " s after SIGTERM; killing it");
                c.kill();
                c.awaitExit(Duration.ofSeconds(5));
            }
        }
    }

    private synchronized HttpClient http() {
        if (http == null) {
            http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        }
        return http;
    }

    private void writeState(Path folder, DemoPorts p, String jwt, Path edgeCert, Path adminToken) throws IOException {
        ObjectNode s = JSON.createObjectNode();
        s.put("dir", folder.toString());
        s.put("jwt", jwt);
        s.put("controlPlaneAdmin", "http://127.0.0.1:" + p.controlPlaneAdmin());
        s.put("controlPlane", "127.0.0.1:" + p.controlPlane());
        s.put("adminTokenFile", adminToken.toString());
        s.put("identity", true);
        s.put("gateway", "https://localhost:" + p.gateway());
        s.put("gatewayCaFile", edgeCert.toString());
        var users = s.putArray("userService");
        for (int i = 1; i <= DemoPorts.USER_INSTANCES; i++) {
            users.addObject().put("instance", "user-service-" + i).put("http", p.userHttp(i)).put("grpc", p.userGrpc(i))
                    .put("sidecarAdmin", p.sidecarAdmin(i)).put("inbound", p.sidecarInbound(i))
                    .put("notificationUpstream", p.upstreamPort(i));
        }
        s.putObject("notificationService").put("instance", "notification-service-1").put("http", p.notificationHttp())
                .put("sidecarAdmin", p.sidecarAdmin(p.notificationSlot())).put("inbound", p.sidecarInbound(p.notificationSlot()))
                .put("userServiceUpstream", p.upstreamPort(p.notificationSlot()));
        s.put("pid", ProcessHandle.current().pid());
        Files.writeString(folder.resolve("demo.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(s));
    }

    private void printBanner(Path folder, DemoPorts p, String jwt, Path edgeCert, Path adminToken, Path home) {
        Path cwd = Path.of("").toAbsolutePath();
        String f = folder.startsWith(cwd) ? cwd.relativize(folder).toString() : folder.toString();
        String cert = edgeCert.startsWith(cwd) ? cwd.relativize(edgeCert).toString() : edgeCert.toString();
        String tokenFile = adminToken.startsWith(cwd) ? cwd.relativize(adminToken).toString() : adminToken.toString();
        int deniedPort = p.upstreamPort(p.notificationSlot());
        out.println();
        String stop = Signals.ignoredAtStart("INT")
                ? "SIGINT is ignored in this process, as its shell started it; stop it with kill -TERM "
                        + ProcessHandle.current().pid()
                : "Ctrl-C stops everything";
        out.println("Trellis demo is running (" + stop + "). Data and logs: " + f + "/");
        out.println();
        out.println("  control plane         gRPC 127.0.0.1:" + p.controlPlane() + ", admin http://127.0.0.1:" + p.controlPlaneAdmin());
        out.println("  user-service          2 instances: REST :" + p.userHttp(1) + " :" + p.userHttp(2) + ", gRPC :" + p.userGrpc(1)
                + " :" + p.userGrpc(2) + " (both behind the sidecar; sidecar admin :" + p.sidecarAdmin(1) + " :"
                + p.sidecarAdmin(2) + ")");
        out.println("  notification-service  1 instance: :" + p.notificationHttp() + " (sidecar admin :" + p.sidecarAdmin(p.notificationSlot()) + ")");
        out.println("  sidecar identity      mTLS with SPIFFE certificates from the mesh CA (join tokens in " + f + "/tokens/)");
        out.println("  gateway               https://localhost:" + p.gateway() + "  (JWT required on /api/)");
        out.println();
        out.println("Demo JWT (RS256, valid 12 h; also in " + f + "/demo.jwt):");
        out.println("  export TOKEN=" + jwt);
        out.println();
        out.println("Try:");
        String base = "https://localhost:" + p.gateway() + "/api/users";
        String auth = "--cacert " + cert + " -H \"Authorization: Bearer $TOKEN\" ";
        out.println("  # create a user (through the gateway to either user-service instance)");
        out.println("  curl -s " + auth + "-H 'content-type: application/json' -X POST " + base
                + " -d '{\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\"}'");
        out.println("  # read it back (id from the answer above)");
        out.println("  curl -s " + auth + base + "/<id>");
        Path protoDir = home.resolve("demo-services/user-service/src/main/proto");
        String protos = protoDir.startsWith(cwd) ? cwd.relativize(protoDir).toString() : protoDir.toString();
        out.println("  # read it over gRPC (HTTP/2 through the gateway and a user-service sidecar)"
                + (onPath("grpcurl") ? "" : "; needs grpcurl, https://github.com/fullstorydev/grpcurl"));
        out.println("  grpcurl -cacert " + cert + " -H \"authorization: Bearer $TOKEN\" "
                + "-import-path " + protos + " -proto " + DemoPolicy.USER_PROTO + " -d '{\"id\":\"<id>\"}' "
                + "localhost:" + p.gateway() + " " + DemoPolicy.USER_GRPC_SERVICE + "/GetUser");
        out.println("  # its welcome notification (sent by user-service's outbox through both sidecars)");
        out.println("  curl -s 'http://127.0.0.1:" + p.notificationHttp() + "/notifications?userId=<id>'");
        out.println("  # notification-service may not call user-service: its sidecar's call is refused (403)");
        out.println("  curl -i http://127.0.0.1:" + deniedPort + "/users");
        out.println("  # every proxy and whether its config is in sync");
        out.println("  ./trellis status --control-plane-admin http://127.0.0.1:" + p.controlPlaneAdmin()
                + " --admin-token-file " + tokenFile);
        out.println();
        out.println("Logs: " + f + "/logs/ (one per process; sidecars in *.sidecar.log). Endpoints as JSON: " + f + "/demo.json");
        out.flush();
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(java.io.File.pathSeparator))
                .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, tool)));
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
