package dev.trellis.bench.scenario;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** One nginx hop in front of the backend (master and workers, in the foreground). */
final class NginxScenario implements Scenario {
    @Override
    public String name() {
        return "nginx";
    }

    @Override
    public String describe(ScenarioContext ctx) {
        String how = switch (ctx.protocol()) {
            case HTTP1 -> "HTTP/1.1 keep-alive both sides";
            case H2C -> "h2c from the client, HTTP/1.1 keep-alive to the backend (nginx proxies HTTP/2 only as gRPC)";
            case GRPC -> "grpc_pass, HTTP/2 both sides";
        };
        return "client -> nginx -> echo backend (plaintext, " + how + ")";
    }

    @Override
    public Deployment deploy(ScenarioContext ctx) throws Exception {
        Path nginx = ctx.require("nginx", "nginx");
        Path prefix = ctx.file("nginx");
        Files.createDirectories(prefix);
        InetSocketAddress listen = Ports.freeLoopback();
        Path conf = ctx.writeConfig("nginx.conf",
                NginxConfig.oneHop(ctx.protocol(), listen, ctx.backend(), ctx.placement().proxyThreads(), prefix));
        Deployment.Proxy p = ctx.launch("nginx",
                List.of(nginx.toString(), "-p", prefix.toString(), "-c", conf.toString(), "-e", "stderr"), listen);
        return new Deployment(listen, List.of(p));
    }

}
