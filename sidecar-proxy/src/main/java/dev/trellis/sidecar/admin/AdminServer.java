package dev.trellis.sidecar.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.cluster.Host;
import dev.trellis.sidecar.config.SocketAddr;
import dev.trellis.sidecar.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.regex.Pattern;

/**
 * The sidecar's admin HTTP server. Small bodies only, so it aggregates; reload runs off the
 * event loop because it reads a file and may resolve names.
 */
public final class AdminServer {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .registerModule(new SimpleModule()
                    .addSerializer(Optional.class, new JsonSerializer<Optional>() {
                        @Override
                        public void serialize(Optional v, JsonGenerator g, SerializerProvider p) throws IOException {
                            if (v.isPresent()) {
                                p.defaultSerializeValue(v.get(), g);
                            } else {
                                g.writeNull();
                            }
                        }
                    })
                    .addSerializer(Pattern.class, new ToString<>())
                    .addSerializer(Path.class, new ToString<>())
                    .addSerializer(Duration.class, new ToString<>())
                    .addSerializer(SocketAddr.class, new ToString<>()));

    private static final class ToString<T> extends JsonSerializer<T> {
        @Override
        public void serialize(T v, JsonGenerator g, SerializerProvider p) throws IOException {
            g.writeString(v.toString());
        }
    }

    private final Sidecar sidecar;
    private final ExecutorService blocking;
    private Channel server;

    public AdminServer(Sidecar sidecar, ExecutorService blocking) {
        this.sidecar = sidecar;
        this.blocking = blocking;
    }

    public InetSocketAddress bind(SocketAddr address, EventLoopGroup group) throws InterruptedException {
        var f = new ServerBootstrap().group(group).channel(Transports.serverChannel())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 * 1024), new Handler());
                    }
                }).bind(address.host(), address.port()).await();
        if (!f.isSuccess()) {
            throw new dev.trellis.sidecar.config.ConfigException("admin.address: cannot bind " + address + ": "
                    + f.cause().getMessage(), f.cause());
        }
        server = f.channel();
        return (InetSocketAddress) server.localAddress();
    }

    public void close() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = new QueryStringDecoder(req.uri()).path();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            HttpMethod m = req.method();
            switch (path) {
                case "/health" -> send(ctx, keepAlive, 200, "text/plain", "OK\n");
                case "/ready" -> {
                    boolean ready = sidecar.ready();
                    send(ctx, keepAlive, ready ? 200 : 503, "text/plain", ready ? "LIVE\n" : "NOT READY\n");
                }
                case "/config_dump" -> send(ctx, keepAlive, 200, "application/json", json(sidecar.config()));
                case "/clusters" -> send(ctx, keepAlive, 200, "application/json", json(clusters()));
                // off the event loop: a scrape reads certificate files
                case "/metrics" -> blocking.execute(() -> {
                    String body;
                    int status = 200;
                    try {
                        body = sidecar.metrics().scrape() + ClusterStats.prometheus(sidecar.clusterManager().all());
                    } catch (RuntimeException e) {
                        status = 500;
                        body = "scrape failed: " + e + "\n";
                    }
                    int code = status;
                    String text = body;
                    ctx.executor().execute(() -> send(ctx, keepAlive, code, "text/plain; version=0.0.4; charset=utf-8", text));
                });
                case "/reload" -> {
                    if (!m.equals(HttpMethod.POST)) {
                        send(ctx, keepAlive, 405, "text/plain", "use POST /reload\n");
                        return;
                    }
                    blocking.execute(() -> {
                        Optional<String> error = sidecar.reload();
                        ctx.executor().execute(() -> send(ctx, keepAlive, error.isEmpty() ? 200 : 400, "text/plain",
                                error.map(e -> "reload refused: " + e + "\n").orElse("reloaded\n")));
                    });
                }
                default -> send(ctx, keepAlive, 404, "text/plain", "no admin endpoint " + path + "\n");
            }
        }
    }

    private Map<String, Object> clusters() {
        List<Object> out = new ArrayList<>();
        for (Cluster c : sidecar.clusterManager().all()) {
            List<Object> hosts = new ArrayList<>();
            for (Host h : c.hosts()) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("address", h.label());
                e.put("hostname", h.hostname());
                e.put("priority", h.priority());
                e.put("weight", h.weight());
                ClusterStats.host(h, e);
                e.put("active_requests", h.activeRequests().get());
                e.put("connections", h.connections().get());
                e.put("requests", h.requests());
                e.put("connect_failures", h.connectFailures());
                hosts.add(e);
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", c.name());
            m.put("type", c.config().type().name());
            m.put("lb_policy", c.config().lbPolicy());
            m.put("protocol", c.config().protocol().name());
            ClusterStats.cluster(c, m);
            m.put("endpoints", hosts);
            out.add(m);
        }
        return Map.of("clusters", out);
    }

    private static String json(Object o) {
        try {
            return JSON.writeValueAsString(o) + "\n";
        } catch (IOException e) {
            return "{\"error\": \"" + e.getMessage() + "\"}\n";
        }
    }

    private static void send(ChannelHandlerContext ctx, boolean keepAlive, int status, String type, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(b));
        r.headers().set("content-type", type).setInt("content-length", b.length);
        if (keepAlive) {
            ctx.writeAndFlush(r);
        } else {
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
