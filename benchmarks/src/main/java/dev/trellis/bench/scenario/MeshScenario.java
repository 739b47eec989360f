package dev.trellis.bench.scenario;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * A Trellis mesh pair: client -> client-side sidecar -> mTLS -> server-side sidecar -> backend,
 * both configured by generated Envoy v3 bootstraps with the test PKI's certificates.
 */
final class MeshScenario implements Scenario {
    @Override
    public String name() {
        return "mesh";
    }

    @Override
    public String describe(ScenarioContext ctx) {
        return "client -> Trellis sidecar -> mTLS (ALPN " + (ctx.protocol().multiplexed() ? "h2" : "http/1.1")
                + ") -> Trellis sidecar -> echo backend (two processes)";
    }

    @Override
    public Deployment deploy(ScenarioContext ctx) throws Exception {
        SidecarScenario.requireJar(ctx);
        TestPki.Files pki = ctx.pki();
        InetSocketAddress inbound = Ports.freeLoopback();
        Path serverCfg = ctx.writeConfig("sidecar-server.yaml", SidecarBootstrap.yaml("bench-server", ctx.protocol(),
                inbound, Ports.freeLoopback(), ctx.backend(), SidecarBootstrap.Tls.DOWNSTREAM_MTLS, pki));
        Deployment.Proxy server = SidecarScenario.launch(ctx, "sidecar-server", serverCfg, inbound);
        InetSocketAddress outbound = Ports.freeLoopback();
        Path clientCfg = ctx.writeConfig("sidecar-client.yaml", SidecarBootstrap.yaml("bench-client", ctx.protocol(),
                outbound, Ports.freeLoopback(), inbound, SidecarBootstrap.Tls.UPSTREAM_MTLS, pki));
        Deployment.Proxy client = SidecarScenario.launch(ctx, "sidecar-client", clientCfg, outbound);
        return new Deployment(outbound, List.of(client, server));
    }
}
