package dev.trellis.sidecar.internal;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The Netty transport of every sidecar socket: io_uring where the kernel lets it run, else native
 * epoll, else NIO, unless {@value #PROPERTY} names one. A mesh pair at full load served 1.1x to 1.7x
 * the requests per CPU-second on io_uring as on epoll in benchmark runs (README, "Sidecar JVM settings").
 */
public final class Transports {
    public static final String PROPERTY = "trellis.transport";

    /** A transport this build carries: how its event loops and channels are made. */
    public enum Kind {
        IO_URING("io_uring", IoUring::isAvailable, IoUring::unavailabilityCause,
                IoUringIoHandler::newFactory, IoUringServerSocketChannel.class, IoUringSocketChannel.class),
        EPOLL("epoll", Epoll::isAvailable, Epoll::unavailabilityCause,
                EpollIoHandler::newFactory, EpollServerSocketChannel.class, EpollSocketChannel.class),
        NIO("nio", () -> true, () -> null, NioIoHandler::newFactory, NioServerSocketChannel.class, NioSocketChannel.class);

        private final String id;
        private final BooleanSupplier available;
        private final Supplier<Throwable> cause;
        private final Supplier<IoHandlerFactory> handlers;
        private final Class<? extends ServerChannel> serverChannel;
        private final Class<? extends SocketChannel> channel;

        Kind(String id, BooleanSupplier available, Supplier<Throwable> cause, Supplier<IoHandlerFactory> handlers,
             Class<? extends ServerChannel> serverChannel, Class<? extends SocketChannel> channel) {
            this.id = id;
            this.available = available;
            this.cause = cause;
            this.handlers = handlers;
            this.serverChannel = serverChannel;
            this.channel = channel;
        }

        /** The name {@value #PROPERTY} takes and logs show. */
        public String id() {
            return id;
        }

        /** Whether its native library loads on this kernel (and its seccomp policy lets it run). */
        public boolean available() {
            return available.getAsBoolean();
        }

        /** {@code threads} event loops on daemon threads named after {@code name}. */
        public EventLoopGroup group(int threads, String name) {
            return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), handlers.get());
        }

        public Class<? extends ServerChannel> serverChannel() {
            return serverChannel;
        }

        public Class<? extends SocketChannel> channel() {
            return channel;
        }
    }

    private static final Kind KIND;
    private static final String ERROR;

    static {
        Kind kind = null;
        String error = null;
        try {
            kind = choose(System.getProperty(PROPERTY, "auto"));
        } catch (IllegalArgumentException e) {
            error = e.getMessage();
        }
        KIND = kind;
        ERROR = error;
    }

    private Transports() {}

    /**
     * The transport for {@code requested} on this machine: {@code auto} takes the first available;
     * a named one that cannot load here is refused with why, rather than quietly replaced.
     */
    static Kind choose(String requested) {
        String r = requested.trim();
        if (r.equals("auto")) {
            // in order and lazily: a machine where io_uring runs never loads epoll; NIO always loads
            return Arrays.stream(Kind.values()).filter(Kind::available).findFirst().orElseThrow();
        }
        for (Kind k : Kind.values()) {
            if (r.equals(k.id)) {
                if (k.available()) {
                    return k;
                }
                throw new IllegalArgumentException(PROPERTY + ": '" + r + "' cannot be used here (" + k.cause.get()
                        + ") (expected: auto or " + ids(Arrays.stream(Kind.values()).filter(Kind::available).toList()) + ")");
            }
        }
        throw new IllegalArgumentException(PROPERTY + ": '" + r + "' (expected: auto, " + ids(List.of(Kind.values())) + ")");
    }

    private static String ids(List<Kind> kinds) {
        return kinds.stream().map(Kind::id).collect(Collectors.joining(", "));
    }

    /** The chosen transport; a bad {@value #PROPERTY} is thrown here, before any thread starts. */
    public static Kind kind() {
        if (ERROR != null) {
            throw new IllegalArgumentException(ERROR);
        }
        return KIND;
    }

    public static String name() {
        return kind().id;
    }

    public static EventLoopGroup group(int threads, String name) {
        return kind().group(threads, name);
    }

    public static Class<? extends ServerChannel> serverChannel() {
        return kind().serverChannel();
    }

    public static Class<? extends SocketChannel> channel() {
        return kind().channel();
    }
}
