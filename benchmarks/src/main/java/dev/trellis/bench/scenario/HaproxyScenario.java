package dev.trellis.bench.scenario;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/** One HAProxy hop in front of the backend. */
final class HaproxyScenario implements Scenario {
    @Override
    public String name() {
        return "haproxy";
    }

    @Override
    public String describe(ScenarioContext ctx) {
        return "client -> HAProxy -> echo backend (plaintext"
                + (ctx.protocol().multiplexed() ? ", HTTP/2 both sides" : ", HTTP/1.1 keep-alive both sides") + ")";
    }

    @Override
    public Deployment deploy(ScenarioContext ctx) throws Exception {
        Path haproxy = ctx.require("haproxy", "haproxy");
        InetSocketAddress listen = Ports.freeLoopback();
        Path cfg = ctx.writeConfig("haproxy.cfg",
                HaproxyConfig.oneHop(ctx.protocol(), listen, ctx.backend(), ctx.placement().proxyThreads()));
        Deployment.Proxy p = ctx.launch("haproxy", List.of(haproxy.toString(), "-db", "-f", cfg.toString()), listen);
        return new Deployment(listen, List.of(p));
    }
}
