package dev.trellis.sidecar.cluster;

import dev.trellis.sidecar.config.HealthCheckConfig;
import dev.trellis.sidecar.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongUnaryOperator;

/**
 * Active health checking of a cluster's hosts with one {@code health_checks} entry (a cluster runs
 * one checker per entry, and a host must pass every one of them): HTTP (GET
 * {@code path}, healthy when the status is expected), TCP (connects) or gRPC (the
 * {@code grpc.health.v1.Health/Check} call answers SERVING). A host starts as failing until its first
 * check passes (as in Envoy); afterwards {@code unhealthy_threshold} failures in a row mark it
 * unhealthy and {@code healthy_threshold} successes in a row healthy again. Each round waits
 * {@code interval} plus a random {@code interval_jitter} and {@code interval_jitter_percent} of the
 * interval. Runs on its own event loop, never a proxy worker.
 */
public final class HealthChecker {
    private static volatile EventLoopGroup group;

    private final Cluster cluster;
    private final HealthCheckConfig config;
    private final SslContext ssl;
    private final LongUnaryOperator random;
    private final Map<Host, State> states = new ConcurrentHashMap<>();
    private volatile boolean stopped;
    private volatile ScheduledFuture<?> next;
    private volatile EventLoop loop;

    /** Consecutive results of one host. */
    static final class State {
        boolean seen;
        int successes;
        int failures;
    }

    HealthChecker(Cluster cluster, HealthCheckConfig config, SslContext ssl, LongUnaryOperator random) {
        this.cluster = cluster;
        this.config = config;
        this.ssl = ssl;
        this.random = random;
    }

    private static EventLoopGroup group() {
        if (group == null) {
            synchronized (HealthChecker.class) {
                if (group == null) {
                    group = Transports.group(1, "trellis-health");
                }
            }
        }
        return group;
    }

    void start() {
        loop = group().next();
        for (Host h : cluster.hosts()) {
            state(h);
        }
        loop.execute(this::round);
    }

    /**
     * Hosts that joined (DNS or EDS) count as failing this check until it passes, as in Envoy, and
     * are checked at once rather than at the next round.
     */
    void track(List<Host> hosts) {
        for (Host h : hosts) {
            if (!states.containsKey(h)) {
                State s = state(h);
                EventLoop l = loop;
                if (l != null && !stopped) {
                    l.execute(() -> check(h, ok -> record(h, s, ok)));
                }
            }
        }
    }

    void stop() {
        stopped = true;
        ScheduledFuture<?> n = next;
        if (n != null) {
            n.cancel(false);
        }
    }

    private State state(Host h) {
        return states.computeIfAbsent(h, k -> {
            k.failedActiveHealthCheck(this, true);
            return new State();
        });
    }

    /** The wait before the next round: interval plus both jitters, drawn from the injected source. */
    long nextDelayNanos() {
        long interval = config.interval().toNanos();
        long d = interval;
        long jitter = config.intervalJitter().toNanos();
        if (jitter > 0) {
            d += random.applyAsLong(jitter);
        }
        long pct = interval * config.intervalJitterPercent() / 100;
        if (pct > 0) {
            d += random.applyAsLong(pct);
        }
        return d;
    }

    private void round() {
        if (stopped) {
            return;
        }
        List<Host> hosts = cluster.hosts();
        states.keySet().retainAll(hosts);
        for (Host h : hosts) {
            State s = state(h);
            check(h, ok -> record(h, s, ok));
        }
        next = loop.schedule(this::round, nextDelayNanos(), TimeUnit.NANOSECONDS);
    }

    /** Applies one result: the thresholds decide when the host's state flips. */
    void record(Host h, State s, boolean ok) {
        if (stopped) {
            return;
        }
        synchronized (s) {
            if (ok) {
                s.failures = 0;
                s.successes++;
                if (!s.seen || s.successes >= config.healthyThreshold()) {
                    h.failedActiveHealthCheck(this, false);
                }
            } else {
                s.successes = 0;
                s.failures++;
                if (!s.seen || s.failures >= config.unhealthyThreshold()) {
                    h.failedActiveHealthCheck(this, true);
                }
            }
            s.seen = true;
        }
    }

    private void check(Host h, Consumer<Boolean> done) {
        AtomicBoolean once = new AtomicBoolean();
        Consumer<Boolean> result = ok -> {
            if (once.compareAndSet(false, true)) {
                done.accept(ok);
            }
        };
        long timeoutMs = Math.max(1, config.timeout().toMillis());
        Bootstrap b = new Bootstrap().group(loop).channel(Transports.channel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMs))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc(), h.hostname(), h.address().getPort()));
                        }
                        switch (config.kind()) {
                            case HTTP -> {
                                ch.pipeline().addLast(new HttpClientCodec());
                                ch.pipeline().addLast(new HttpProbe(result));
                            }
                            case GRPC -> {
                                ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build());
                                ch.pipeline().addLast(new GrpcProbe(result));
                            }
                            case TCP -> { }
                        }
                    }
                });
        b.connect(h.address()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                result.accept(false);
                return;
            }
            Channel ch = f.channel();
            ScheduledFuture<?> t = ch.eventLoop().schedule(() -> {
                result.accept(false);
                ch.close();
            }, timeoutMs, TimeUnit.MILLISECONDS);
            ch.closeFuture().addListener(c -> {
                t.cancel(false);
                result.accept(false);
            });
            switch (config.kind()) {
                case TCP -> {
                    result.accept(true);
                    ch.close();
                }
                case HTTP -> {
                    var req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, config.path());
                    req.headers().set("host", config.host().orElse(cluster.name()))
                            .set("user-agent", "trellis-health-check").set("connection", "close")
                            .setInt("content-length", 0);
                    ch.writeAndFlush(req);
                }
                case GRPC -> ch.pipeline().get(GrpcProbe.class).send(ch, config.host().orElse(cluster.name()),
                        config.grpcServiceName());
            }
        });
    }

    /** Reads the status line of an HTTP check. */
    private final class HttpProbe extends ChannelInboundHandlerAdapter {
        private final Consumer<Boolean> result;

        HttpProbe(Consumer<Boolean> result) {
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpResponse r) {
                    result.accept(r.decoderResult().isSuccess() && config.expected(r.status().code()));
                    ctx.close();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.accept(false);
            ctx.close();
        }
    }

    /** One {@code grpc.health.v1.Health/Check} call: healthy when it answers status OK with SERVING. */
    private static final class GrpcProbe extends Http2ChannelDuplexHandler {
        private final Consumer<Boolean> result;
        private boolean serving;

        GrpcProbe(Consumer<Boolean> result) {
            this.result = result;
        }

        void send(Channel ch, String authority, String service) {
            Http2FrameStream stream = newStream();
            Http2Headers h = new DefaultHttp2Headers().method("POST").scheme(ch.pipeline().get(
                    io.netty.handler.ssl.SslHandler.class) != null ? "https" : "http").authority(authority)
                    .path("/grpc.health.v1.Health/Check");
            h.set("content-type", "application/grpc").set("te", "trailers").set("user-agent", "trellis-health-check");
            byte[] name = service.getBytes(StandardCharsets.UTF_8);
            // HealthCheckRequest { string service = 1; } in a gRPC frame
            ByteBuf body = ch.alloc().buffer();
            int msgLen = name.length == 0 ? 0 : 1 + varintSize(name.length) + name.length;
            body.writeByte(0).writeInt(msgLen);
            if (name.length > 0) {
                body.writeByte(0x0a);
                writeVarint(body, name.length);
                body.writeBytes(name);
            }
            ch.write(new DefaultHttp2HeadersFrame(h, false).stream(stream));
            ch.writeAndFlush(new DefaultHttp2DataFrame(body, true).stream(stream));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2DataFrame d) {
                    ByteBuf c = d.content();
                    // HealthCheckResponse { ServingStatus status = 1; } with SERVING = 1
                    if (c.readableBytes() >= 7 && c.getByte(c.readerIndex() + 5) == 0x08) {
                        serving = c.getByte(c.readerIndex() + 6) == 1;
                    }
                } else if (msg instanceof Http2HeadersFrame hf && hf.headers().get("grpc-status") != null) {
                    result.accept(serving && "0".contentEquals(hf.headers().get("grpc-status")));
                    ctx.close();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.accept(false);
            ctx.close();
        }

        private static int varintSize(int v) {
            int n = 1;
            while ((v >>>= 7) != 0) {
                n++;
            }
            return n;
        }

        private static void writeVarint(ByteBuf b, int v) {
            while ((v & ~0x7f) != 0) {
                b.writeByte((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            b.writeByte(v);
        }
    }
}
