package dev.trellis.sidecar.filter.fault;

import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.filter.HttpFilter;
import dev.trellis.sidecar.router.RouteMatcher;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Injects the faults of {@link FaultConfig} (the route's override when it has one): the delay pauses
 * the chain on the stream's event loop ({@code DI}), then the abort answers locally ({@code FI}).
 */
public final class FaultFilter implements HttpFilter {
    private final FaultConfig config;
    private final LongSupplier random;

    private FaultFilter(FaultConfig config, LongSupplier random) {
        this.config = config;
        this.random = random;
    }

    /** Draws from a thread-local random. */
    public static FilterFactory factory(FaultConfig c) {
        return factory(c, () -> ThreadLocalRandom.current().nextLong(Long.MAX_VALUE));
    }

    /** {@code random} gives one draw per fraction tested (tests make it deterministic). */
    public static FilterFactory factory(FaultConfig c, LongSupplier random) {
        return () -> new FaultFilter(c, random);
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers headers, Context ctx) {
        FaultConfig c = config;
        RouteMatcher.Match m = ctx.route();
        HttpFilterConfig per = m == null ? null : m.route().filterConfig(config.name());
        if (per instanceof FaultConfig f) {
            c = f;
        }
        if (c.delay().isPresent() && c.delay().get().fraction().hits(random.getAsLong())) {
            ctx.info().addFlag(ResponseFlag.DI);
            // resuming goes on with the next filter, so the abort is drawn now and answered after the delay
            boolean abort = aborts(c);
            FaultConfig.Abort a = c.abort().orElse(null);
            if (!(ctx.executor() instanceof ScheduledExecutorService scheduler)) {
                throw new IllegalStateException("fault delay: the stream's executor cannot schedule (expected: an event loop)");
            }
            scheduler.schedule(() -> ctx.resume(abort ? reply(a, ctx) : null), c.delay().get().fixed().toNanos(),
                    TimeUnit.NANOSECONDS);
            return PAUSE;
        }
        return aborts(c) ? reply(c.abort().get(), ctx) : null;
    }

    private boolean aborts(FaultConfig c) {
        return c.abort().isPresent() && c.abort().get().fraction().hits(random.getAsLong());
    }

    private static ErrorResponder.LocalReply reply(FaultConfig.Abort a, Context ctx) {
        return ErrorResponder.faultAbort(a.httpStatus(), a.grpcStatus(), ctx.info().grpc(), ctx.info());
    }
}
