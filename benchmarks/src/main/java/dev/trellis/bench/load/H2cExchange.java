package dev.trellis.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2FrameAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * HTTP/2 cleartext (prior knowledge) client connection: each request is a {@code POST /echo} stream,
 * up to {@link #MAX_STREAMS} at once. Written on Netty's connection-level HTTP/2 API (no child
 * channel per stream) to keep the generator's own cost low. Reconnects when the connection goes away.
 */
final class H2cExchange implements Exchange {
    /** Streams in flight per connection; at most the 100 that HAProxy and most servers advertise. */
    static final int MAX_STREAMS = 100;

    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final ByteBuf payload;
    private final Http2Headers headers;
    private final IntObjectMap<StreamState> streams = new IntObjectHashMap<>();
    private final List<Completion> waitingForConnect = new ArrayList<>();
    private Channel channel;
    private ChannelHandlerContext ctx;
    private Handler handler;
    private boolean closed;

    private static final class StreamState {
        final Completion done;
        int status;

        StreamState(Completion done) {
            this.done = done;
        }
    }

    H2cExchange(EventLoop loop, InetSocketAddress target, byte[] payload) {
        this.loop = loop;
        this.payload = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(payload).asReadOnly());
        this.headers = new DefaultHttp2Headers()
                .method("POST")
                .scheme("http")
                .path("/echo")
                .authority(target.getHostString() + ":" + target.getPort())
                .set("content-type", "application/octet-stream")
                .setInt("content-length", payload.length);
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(Transports.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .remoteAddress(target)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("h2", new Builder(new Listener(ch)).build());
                    }
                });
    }

    @Override
    public void send(Completion done) {
        if (ctx != null && channel.isActive()) {
            write(done);
            return;
        }
        if (closed) {
            done.complete("exchange closed");
            return;
        }
        waitingForConnect.add(done);
        if (channel != null && channel.isOpen() && ctx == null) {
            return; // a connect is under way
        }
        ChannelFuture f = bootstrap.connect();
        channel = f.channel();
        ctx = null;
        f.addListener(r -> {
            List<Completion> waiting = new ArrayList<>(waitingForConnect);
            waitingForConnect.clear();
            if (r.isSuccess()) {
                ctx = f.channel().pipeline().context("h2");
                handler = (Handler) ctx.handler();
                waiting.forEach(this::write);
            } else {
                waiting.forEach(c -> c.complete("connect failed: " + r.cause().getMessage()));
            }
        });
    }

    private void write(Completion done) {
        int id = handler.connection().local().incrementAndGetNextStreamId();
        streams.put(id, new StreamState(done));
        boolean empty = !payload.isReadable();
        Http2ConnectionEncoder encoder = handler.encoder();
        encoder.writeHeaders(ctx, id, headers, 0, empty, ctx.newPromise()).addListener(r -> {
            if (!r.isSuccess()) {
                finish(id, "write failed: " + r.cause().getMessage());
            }
        });
        if (!empty) {
            encoder.writeData(ctx, id, payload.duplicate(), 0, true, ctx.newPromise());
        }
        // through the pipeline, not ctx.flush(): the connection handler's flush writes flow-controlled DATA
        channel.flush();
    }

    private void finish(int id, String error) {
        StreamState s = streams.remove(id);
        if (s != null) {
            s.done.complete(error);
        }
    }

    @Override
    public Executor executor() {
        return loop;
    }

    @Override
    public int maxConcurrency() {
        return MAX_STREAMS;
    }

    @Override
    public void close() {
        closed = true;
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    /** Responses, resets and the end of the connection, for the connection {@code ch}. */
    private final class Listener extends Http2FrameAdapter {
        private final Channel ch;

        Listener(Channel ch) {
            this.ch = ch;
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers h, int padding,
                                  boolean endStream) {
            StreamState s = streams.get(streamId);
            if (s == null) {
                return;
            }
            CharSequence status = h.status();
            if (status != null) {
                s.status = Integer.parseInt(status.toString());
            }
            if (endStream) {
                finish(streamId, s.status == 200 ? null : "HTTP " + s.status);
            }
        }

        @Override
        public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers h, int streamDependency,
                                  short weight, boolean exclusive, int padding, boolean endStream) {
            onHeadersRead(c, streamId, h, padding, endStream);
        }

        @Override
        public int onDataRead(ChannelHandlerContext c, int streamId, ByteBuf data, int padding, boolean endOfStream) {
            if (endOfStream) {
                StreamState s = streams.get(streamId);
                if (s != null) {
                    finish(streamId, s.status == 200 ? null : "HTTP " + s.status);
                }
            }
            return data.readableBytes() + padding; // consumed at once: returns the flow-control window
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext c, int streamId, long errorCode) {
            finish(streamId, "stream reset: " + errorCode);
        }

        void connectionClosed() {
            if (ch != channel) {
                return; // a replaced connection's late close must not fail its successor's streams
            }
            ctx = null;
            List<StreamState> lost = new ArrayList<>(streams.values());
            streams.clear();
            lost.forEach(s -> s.done.complete("connection closed"));
        }
    }

    private static final class Handler extends Http2ConnectionHandler {
        private final Listener listener;

        Handler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings,
                Listener listener) {
            super(decoder, encoder, settings);
            this.listener = listener;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            super.channelInactive(ctx);
            listener.connectionClosed();
        }
    }

    private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<Handler, Builder> {
        private final Listener listener;

        Builder(Listener listener) {
            this.listener = listener;
            server(false);
            frameListener(listener);
            // streams beyond the server's limit wait instead of failing
            encoderEnforceMaxConcurrentStreams(true);
        }

        @Override
        public Handler build() {
            return super.build();
        }

        @Override
        protected Handler build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                Http2Settings initialSettings) {
            return new Handler(decoder, encoder, initialSettings, listener);
        }
    }
}
