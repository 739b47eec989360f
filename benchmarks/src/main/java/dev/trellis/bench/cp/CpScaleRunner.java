package dev.trellis.bench.cp;

import dev.trellis.bench.report.MachineInfo;
import dev.trellis.bench.scenario.Binaries;
import dev.trellis.bench.scenario.CpuPlacement;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code trellis bench cp-scale}: a real control plane in a child JVM, {@code --proxies} simulated
 * sidecars over real TLS gRPC connections (registration + ADS), the time to the first full sync,
 * then policy changes (a Service timeout) timed from the admin API call to each proxy's ACK of the
 * push that carries it, with the control plane's heap and CPU along the way.
 */
public final class CpScaleRunner {
    /** Timeout values the changes set (plus the round number); the default is 15 s, so every one is a change. */
    static final long HOT_TIMEOUT_SECONDS = 1;
    static final long COLD_TIMEOUT_SECONDS = 20;

    private final CpScaleSettings settings;
    private final PrintStream out;
    private final PrintStream err;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean closing;
    private final AtomicInteger failures = new AtomicInteger();
    private volatile CountDownLatch syncLatch = new CountDownLatch(0);
    private volatile CountDownLatch probeLatch = new CountDownLatch(0);
    private volatile Set<SimulatedProxy> probed = Set.of();

    public CpScaleRunner(CpScaleSettings settings, PrintStream out, PrintStream err) {
        this.settings = settings;
        this.out = out;
        this.err = err;
    }

    /** Runs and writes {@code report.md} into {@code settings.out()}; returns the figures. */
    public CpScaleResult run() throws IOException, InterruptedException {
        Instant started = Instant.now();
        Path outDir = settings.out();
        Files.createDirectories(outDir);
        Map<String, String> machine = MachineInfo.collect(Binaries.system(), CpuPlacement.allowedCpus());
        machine.keySet().removeAll(List.of("HAProxy", "nginx", MachineInfo.NETTY_TRANSPORT));
        Topology topo = Topology.of(settings.services(), settings.proxies(), settings.upstreams(), settings.seed());
        Map<String, Integer> instances = topo.instancesByService();
        Path dataDir = Files.createTempDirectory("trellis-cp-scale-");
        CpScaleResult.Builder result = new CpScaleResult.Builder(settings, started, machine);

        EventLoopGroup group = new NioEventLoopGroup(2, new DefaultThreadFactory("cp-scale-grpc", true));
        ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "cp-scale-proxy");
            t.setDaemon(true);
            return t;
        });
        List<ManagedChannel> channels = new ArrayList<>();
        List<SimulatedProxy> fleet = new ArrayList<>();
        err.printf("cp-scale: %d services, %d proxies, %d upstreams per proxy; control plane in a child JVM%n",
                settings.services(), settings.proxies(), settings.upstreams());
        try (ControlPlaneProcess cp = ControlPlaneProcess.start(settings.java(), settings.cpJvmOptions(), dataDir,
                outDir.resolve("control-plane.log"), Duration.ofSeconds(120))) {
            result.cpJvm(cp.jvmOptions);
            ControlPlaneProcess.Stats start = cp.statsAfterGc();
            result.heapAtStart(start.heapUsed());
            result.heapMax(start.heapMax());

            ChannelCredentials tls = TlsChannelCredentials.newBuilder().trustManager(cp.caBundle().toFile()).build();
            SimulatedProxy.Listener listener = listener();
            // registration and ADS need a caller proving its service: a join token per service
            java.util.Map<String, ChannelCredentials> creds = new java.util.HashMap<>();
            for (Topology.Proxy p : topo.proxies()) {
                if (!creds.containsKey(p.service())) {
                    creds.put(p.service(), io.grpc.CompositeChannelCredentials.create(tls,
                            bearer(joinToken(cp, p.service()))));
                }
            }
            for (Topology.Proxy p : topo.proxies()) {
                // one connection per proxy, as every sidecar has its own
                ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cp.grpcPort, creds.get(p.service()))
                        .eventLoopGroup(group).channelType(NioSocketChannel.class).executor(executor)
                        .maxInboundMessageSize(64 << 20).build();
                channels.add(ch);
                fleet.add(new SimulatedProxy(p, ch, instances, listener));
            }

            // registration: every instance registered and reported healthy, a bounded number in flight
            err.printf("cp-scale: registering %d instances...%n", fleet.size());
            long cpu0 = cp.stats().cpuNanos();
            long t0 = System.nanoTime();
            Semaphore inFlight = new Semaphore(settings.registerInFlight());
            List<CompletableFuture<Void>> regs = new ArrayList<>();
            for (SimulatedProxy p : fleet) {
                inFlight.acquire();
                checkFailure();
                p.register();
                p.registered.whenComplete((v, e) -> inFlight.release());
                regs.add(p.registered);
            }
            awaitAll(regs, settings.syncTimeout(), "registration");
            awaitCondition(() -> cp.stats().routable() >= fleet.size(), settings.syncTimeout(),
                    "every instance routable in the registry");
            long registered = System.nanoTime() - t0;
            long cpu1 = cp.stats().cpuNanos();
            result.registration(registered, cpu1 - cpu0);
            err.printf("cp-scale: registered in %.2f s%n", registered / 1e9);

            // first full sync: every ADS stream opened at once
            err.printf("cp-scale: opening %d ADS streams...%n", fleet.size());
            syncLatch = new CountDownLatch(fleet.size());
            long s0 = System.nanoTime();
            for (SimulatedProxy p : fleet) {
                p.subscribe();
            }
            await(syncLatch, settings.syncTimeout(), "first full sync of every proxy");
            long syncEnd = fleet.stream().mapToLong(SimulatedProxy::syncedNanos).max().orElse(s0);
            awaitQuiet(fleet);
            ControlPlaneProcess.Stats synced = cp.stats();
            List<Long> perProxy = fleet.stream().map(p -> p.syncedNanos() - p.adsStartNanos()).toList();
            result.sync(syncEnd - s0, perProxy, synced.cpuNanos() - cpu1, synced.proxies(), synced.synced(),
                    fleet.stream().mapToLong(SimulatedProxy::responses).sum());
            result.heapAfterSync(cp.statsAfterGc().heapUsed());
            err.printf("cp-scale: all %d proxies synced in %.2f s%n", fleet.size(), (syncEnd - s0) / 1e9);

            HttpClient http = HttpClient.newHttpClient();
            String token = cp.adminToken();
            var cold = topo.busiestColdService();
            // the first round also runs code paths for the first time (JIT); later rounds show the steady state
            for (int round = 1; round <= settings.rounds(); round++) {
                result.change(change(cp, http, token, fleet, round, "every proxy calls it", topo.hot(),
                        HOT_TIMEOUT_SECONDS + round, topo));
                if (cold.isPresent()) {
                    result.change(change(cp, http, token, fleet, round, "its callers only", cold.get(),
                            COLD_TIMEOUT_SECONDS + round, topo));
                }
            }
            ControlPlaneProcess.Stats end = cp.statsAfterGc();
            result.heapAtEnd(end.heapUsed(), end.heapCommitted());
            result.cpuTotal(end.cpuNanos());
            cp.peakRssBytes().ifPresent(result::peakRss);
            closing = true;
        } finally {
            closing = true;
            fleet.forEach(SimulatedProxy::close);
            for (ManagedChannel ch : channels) ch.shutdownNow();
            for (ManagedChannel ch : channels) ch.awaitTermination(5, TimeUnit.SECONDS);
            executor.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
            deleteTree(dataDir);
        }
        CpScaleResult r = result.finished(Instant.now(), failures.get());
        Files.writeString(outDir.resolve("report.md"), CpScaleReport.markdown(r), StandardCharsets.UTF_8);
        out.println();
        out.print(CpScaleReport.table(r));
        out.println();
        out.println("Report: " + outDir.resolve("report.md"));
        return r;
    }

    private SimulatedProxy.Listener listener() {
        return new SimulatedProxy.Listener() {
            @Override
            public void synced(SimulatedProxy p) {
                syncLatch.countDown();
            }

            @Override
            public void probeAcked(SimulatedProxy p) {
                if (probed.contains(p)) probeLatch.countDown();
            }

            @Override
            public void failed(SimulatedProxy p, Throwable error) {
                if (closing) return;
                failures.incrementAndGet();
                failure.compareAndSet(null, new IOException(p.spec.nodeId() + ": " + error, error));
            }
        };
    }

    /**
     * Sets {@code service}'s timeout through the admin API and times each caller's ACK of the push
     * that carries it; then waits for quiet and counts who else got pushes.
     */
    private static String joinToken(ControlPlaneProcess cp, String service) throws IOException, InterruptedException {
        java.net.http.HttpResponse<String> r = HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + cp.adminPort + "/api/v1/tokens"))
                .header("Authorization", "Bearer " + cp.adminToken()).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"service\": \"" + service + "\", \"ttl\": \"24h\"}"))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IllegalStateException("join token for " + service + ": " + r.statusCode() + " " + r.body());
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).path("token").asText();
    }

    private static io.grpc.CallCredentials bearer(String token) {
        return new io.grpc.CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, java.util.concurrent.Executor executor, MetadataApplier applier) {
                io.grpc.Metadata md = new io.grpc.Metadata();
                md.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
                applier.apply(md);
            }
        };
    }

    private CpScaleResult.Change change(ControlPlaneProcess cp, HttpClient http, String token, List<SimulatedProxy> fleet,
                                        int round, String label, String service, long timeoutSeconds, Topology topo)
            throws IOException, InterruptedException {
        Set<String> callerIds = new HashSet<>();
        topo.callersOf(service).forEach(p -> callerIds.add(p.nodeId()));
        Set<SimulatedProxy> callers = new HashSet<>();
        for (SimulatedProxy p : fleet) if (callerIds.contains(p.spec.nodeId())) callers.add(p);
        err.printf("cp-scale: Service/%s timeout -> %ds (%d callers)...%n", service, timeoutSeconds, callers.size());
        long cpu0 = cp.stats().cpuNanos();
        probed = callers;
        probeLatch = new CountDownLatch(callers.size());
        long t0 = System.nanoTime();
        SimulatedProxy.Probe probe = new SimulatedProxy.Probe(service, timeoutSeconds, t0);
        for (SimulatedProxy p : fleet) p.mark(probe);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + cp.adminPort + "/api/v1/policy/Service/" + service))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/yaml")
                .PUT(HttpRequest.BodyPublishers.ofString("timeout: " + timeoutSeconds + "s\n")).build(),
                HttpResponse.BodyHandlers.ofString());
        long applied = System.nanoTime() - t0;
        if (r.statusCode() != 200) {
            throw new IOException("PUT /api/v1/policy/Service/" + service + ": HTTP " + r.statusCode() + ": " + r.body());
        }
        await(probeLatch, settings.changeTimeout(), "Service/" + service + " timeout reaching its " + callers.size() + " callers");
        awaitQuiet(fleet);
        long cpu1 = cp.stats().cpuNanos();
        List<Long> toAck = callers.stream().map(p -> p.probeAckNanos() - t0).toList();
        int pushed = 0;
        int pushedOthers = 0;
        long responses = 0;
        for (SimulatedProxy p : fleet) {
            int n = p.responsesSinceMark();
            responses += n;
            if (n > 0) {
                pushed++;
                if (!callers.contains(p)) pushedOthers++;
            }
        }
        CpScaleResult.Change c = new CpScaleResult.Change(round, label, service, timeoutSeconds, callers.size(), pushed, pushedOthers,
                responses, applied, toAck, cpu1 - cpu0);
        err.printf("cp-scale: Service/%s reached its %d callers: p50 %.1f ms, max %.1f ms; %d proxies pushed%n", service,
                callers.size(), c.p(0.50) / 1e6, c.p(1.0) / 1e6, pushed);
        return c;
    }

    /** Until no proxy received anything for {@code settings.quiet()}. */
    private void awaitQuiet(List<SimulatedProxy> fleet) throws InterruptedException, IOException {
        long last = -1;
        long quietSince = System.nanoTime();
        long deadline = System.nanoTime() + settings.syncTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            checkFailure();
            long n = 0;
            for (SimulatedProxy p : fleet) n += p.responses();
            if (n != last) {
                last = n;
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince >= settings.quiet().toNanos()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException("the control plane kept pushing for " + settings.syncTimeout().toSeconds() + " s");
    }

    private void await(CountDownLatch latch, Duration timeout, String what) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!latch.await(100, TimeUnit.MILLISECONDS)) {
            checkFailure();
            if (System.nanoTime() > deadline) {
                throw new IOException(what + ": not done within " + timeout.toSeconds() + " s (" + latch.getCount() + " left)");
            }
        }
        checkFailure();
    }

    private void awaitAll(List<CompletableFuture<Void>> futures, Duration timeout, String what)
            throws InterruptedException, IOException {
        CountDownLatch l = new CountDownLatch(futures.size());
        futures.forEach(f -> f.whenComplete((v, e) -> l.countDown()));
        await(l, timeout, what);
    }

    private interface Check {
        boolean ok() throws IOException, InterruptedException;
    }

    private void awaitCondition(Check c, Duration timeout, String what) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!c.ok()) {
            checkFailure();
            if (System.nanoTime() > deadline) throw new IOException(what + ": not within " + timeout.toSeconds() + " s");
            Thread.sleep(50);
        }
    }

    private void checkFailure() throws IOException {
        Throwable t = failure.get();
        if (t != null) throw new IOException("a simulated proxy failed (" + failures.get() + " in all): " + t.getMessage(), t);
    }

    private static void deleteTree(Path dir) {
        try (var all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException e) {
            // under the temp folder
        }
    }
}
