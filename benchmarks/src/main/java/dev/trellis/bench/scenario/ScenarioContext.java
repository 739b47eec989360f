package dev.trellis.bench.scenario;

import dev.trellis.bench.load.Protocol;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What scenarios share in one run: the protocol, the backend, a work folder for configs and logs,
 * the test PKI (made on first use), CPU placement, the process supervisor and where programs are.
 */
public final class ScenarioContext {
    private final Protocol protocol;
    private final InetSocketAddress backend;
    private final Path workDir;
    private final Path pkiDir;
    private final CpuPlacement placement;
    private final ProcessSupervisor processes;
    private final Binaries binaries;
    private final SidecarSettings sidecar;
    private final Duration startTimeout;
    private TestPki.Files pki;

    /**
     * How to start a Trellis sidecar: the jar, the java binary and JVM options; {@code variants}
     * are other builds or options measured in the same run as {@code sidecar@NAME} and
     * {@code mesh@NAME}.
     */
    public record SidecarSettings(Path jar, Path java, List<String> jvmOptions, Map<String, SidecarSettings> variants,
                                  boolean accessLog) {
        public SidecarSettings {
            jvmOptions = List.copyOf(jvmOptions);
            variants = Collections.unmodifiableMap(new LinkedHashMap<>(variants));
        }

        public SidecarSettings(Path jar, Path java, List<String> jvmOptions, Map<String, SidecarSettings> variants) {
            this(jar, java, jvmOptions, variants, false);
        }

        public SidecarSettings(Path jar, Path java, List<String> jvmOptions) {
            this(jar, java, jvmOptions, Map.of());
        }

        /** These settings for {@code variant} null, else the variant's. */
        public SidecarSettings variant(String variant) {
            if (variant == null) {
                return this;
            }
            SidecarSettings v = variants.get(variant);
            if (v == null) {
                throw new IllegalArgumentException("sidecar variant '" + variant + "' (expected: one of " + variants.keySet() + ")");
            }
            return v;
        }
    }

    public ScenarioContext(Protocol protocol, InetSocketAddress backend, Path workDir, Path pkiDir,
                           CpuPlacement placement, ProcessSupervisor processes, Binaries binaries,
                           SidecarSettings sidecar, Duration startTimeout) {
        this.protocol = protocol;
        this.backend = backend;
        this.workDir = workDir;
        this.pkiDir = pkiDir;
        this.placement = placement;
        this.processes = processes;
        this.binaries = binaries;
        this.sidecar = sidecar;
        this.startTimeout = startTimeout;
    }

    public Protocol protocol() {
        return protocol;
    }

    public InetSocketAddress backend() {
        return backend;
    }

    public CpuPlacement placement() {
        return placement;
    }

    public Binaries binaries() {
        return binaries;
    }

    public SidecarSettings sidecar() {
        return sidecar;
    }

    /** The test PKI, generated into the run's output folder on first use. */
    public synchronized TestPki.Files pki() throws IOException {
        if (pki == null) {
            pki = TestPki.generate(pkiDir);
        }
        return pki;
    }

    /** A file in the work folder, for a config or a log. */
    public Path file(String name) {
        try {
            Files.createDirectories(workDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return workDir.resolve(name);
    }

    /** Writes a config file into the work folder and returns its path. */
    public Path writeConfig(String name, String text) throws IOException {
        Path p = file(name);
        Files.writeString(p, text);
        return p;
    }

    /** Finds a program or skips the scenario naming the Debian package to install. */
    public Path require(String program, String debianPackage) throws ScenarioSkipped {
        return binaries.find(program).orElseThrow(() -> new ScenarioSkipped(
                "'" + program + "' not found on PATH or in /usr/sbin (install the Debian package '" + debianPackage
                        + "': apt-get install " + debianPackage + ")"));
    }

    /**
     * Starts a proxy process (pinned to the proxy CPUs) and waits until {@code listen} accepts
     * connections. The process' output goes to {@code NAME.log} in the work folder.
     */
    public Deployment.Proxy launch(String name, List<String> command, InetSocketAddress listen)
            throws IOException, ProcessSupervisor.StartFailure, InterruptedException {
        List<String> full = new ArrayList<>(placement.proxyPrefix());
        full.addAll(command);
        Path log = file(name + ".log");
        Process p = processes.start(full, log);
        ProcessSupervisor.awaitListening(p, listen, startTimeout, log);
        return new Deployment.Proxy(name, p);
    }
}
