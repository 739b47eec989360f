package dev.trellis.bench.scenario;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * The HAProxy equivalent of a mesh pair: a client-side HAProxy that the client reaches in
 * plaintext, mTLS (TLS 1.3, client certificate required, both sides checked against the test CA)
 * to a server-side HAProxy, plaintext to the backend.
 */
final class HaproxyMtlsScenario implements Scenario {
    @Override
    public String name() {
        return "haproxy-mtls";
    }

    @Override
    public String describe(ScenarioContext ctx) {
        return "client -> HAProxy -> mTLS (TLS 1.3, ALPN " + (ctx.protocol().multiplexed() ? "h2" : "http/1.1")
                + ") -> HAProxy -> echo backend (two processes)";
    }

    @Override
    public Deployment deploy(ScenarioContext ctx) throws Exception {
        Path haproxy = ctx.require("haproxy", "haproxy");
        TestPki.Files pki = ctx.pki();
        int threads = ctx.placement().proxyThreads();
        InetSocketAddress inbound = Ports.freeLoopback();
        Path serverCfg = ctx.writeConfig("haproxy-server.cfg",
                HaproxyConfig.mtlsServerSide(ctx.protocol(), inbound, ctx.backend(), pki, threads));
        Deployment.Proxy server = ctx.launch("haproxy-server",
                List.of(haproxy.toString(), "-db", "-f", serverCfg.toString()), inbound);
        InetSocketAddress outbound = Ports.freeLoopback();
        Path clientCfg = ctx.writeConfig("haproxy-client.cfg",
                HaproxyConfig.mtlsClientSide(ctx.protocol(), outbound, inbound, pki, threads));
        Deployment.Proxy client = ctx.launch("haproxy-client",
                List.of(haproxy.toString(), "-db", "-f", clientCfg.toString()), outbound);
        return new Deployment(outbound, List.of(client, server));
    }
}
