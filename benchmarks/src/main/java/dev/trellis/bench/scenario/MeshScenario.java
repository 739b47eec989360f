package dev.trellis.bench.scenario;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * A Trellis mesh pair: client -> client-side sidecar -> mTLS -> server-side sidecar -> backend,
 * both configured by generated Envoy v3 bootstraps with the test PKI's certificates.
 */
final class MeshScenario implements Scenario {
    private final String variant;

    MeshScenario() {
        this(null);
    }

    /** @param variant the sidecar variant to run (null: the run's sidecar settings) */
    MeshScenario(String variant) {
        this.variant = variant;
    }

    @Override
    public String name() {
        return variant == null ? "mesh" : "mesh@" + variant;
    }

    @Override
    public String describe(ScenarioContext ctx) {
        return "client -> Trellis sidecar -> mTLS (ALPN " + (ctx.protocol().multiplexed() ? "h2" : "http/1.1")
                + ") -> Trellis sidecar -> echo backend (two processes)"
                + (variant == null ? "" : "; sidecar variant '" + variant + "'") + SidecarScenario.accessLogNote(ctx);
    }

    @Override
    public Deployment deploy(ScenarioContext ctx) throws Exception {
        SidecarScenario.requireJar(ctx, variant);
        TestPki.Files pki = ctx.pki();
        InetSocketAddress inbound = Ports.freeLoopback();
        String suffix = variant == null ? "" : "@" + variant;
        Path serverCfg = ctx.writeConfig("sidecar-server" + suffix + ".yaml", SidecarBootstrap.yaml("bench-server", ctx.protocol(),
                inbound, Ports.freeLoopback(), ctx.backend(), SidecarBootstrap.Tls.DOWNSTREAM_MTLS, pki,
                SidecarScenario.accessLog(ctx, "sidecar-server" + suffix)));
        Deployment.Proxy server = SidecarScenario.launch(ctx, variant, "sidecar-server" + suffix, serverCfg, inbound);
        InetSocketAddress outbound = Ports.freeLoopback();
        Path clientCfg = ctx.writeConfig("sidecar-client" + suffix + ".yaml", SidecarBootstrap.yaml("bench-client", ctx.protocol(),
                outbound, Ports.freeLoopback(), inbound, SidecarBootstrap.Tls.UPSTREAM_MTLS, pki,
                SidecarScenario.accessLog(ctx, "sidecar-client" + suffix)));
        Deployment.Proxy client = SidecarScenario.launch(ctx, variant, "sidecar-client" + suffix, clientCfg, outbound);
        return new Deployment(outbound, List.of(client, server));
    }
}
