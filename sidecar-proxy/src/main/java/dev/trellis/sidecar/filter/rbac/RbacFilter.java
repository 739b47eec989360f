package dev.trellis.sidecar.filter.rbac;

import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.filter.HttpFilter;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Envoy's RBAC filter: decides on the peer's verified SPIFFE ID and the request headers (the
 * {@code :path} the connection manager already normalised, so the decision sees what is
 * forwarded). A denied request gets 403 with response flag {@code RBAC}, or gRPC
 * {@code PERMISSION_DENIED}, from the {@link ErrorResponder}.
 */
public final class RbacFilter implements HttpFilter {
    private static final Logger log = LoggerFactory.getLogger(RbacFilter.class);
    /** The body (and gRPC message) of a denial, as Envoy's. */
    public static final String DENIED = "RBAC: access denied";

    private final RbacConfig config;

    private RbacFilter(RbacConfig config) {
        this.config = config;
    }

    /** The filter is stateless, so all streams share one instance. */
    public static FilterFactory factory(RbacConfig config) {
        RbacFilter shared = new RbacFilter(config);
        return () -> shared;
    }

    @Override
    public ErrorResponder.LocalReply onRequestHeaders(Http2Headers headers, Context ctx) {
        if (config.rules().isEmpty()) {
            return null;
        }
        RbacConfig.Rules rules = config.rules().get();
        Optional<String> peer = ctx.peerPrincipal();
        RbacConfig.Request request = new RbacConfig.Request(peer, headers);
        Optional<String> matched = rules.matchingPolicy(request);
        boolean allowed = rules.action() == RbacConfig.Action.ALLOW ? matched.isPresent() : matched.isEmpty();
        if (allowed) {
            return null;
        }
        if (log.isDebugEnabled()) {
            try (var mdc = dev.trellis.sidecar.observe.RequestMdc.of(ctx.info())) {
                log.debug("rbac '{}' denied {} {} from {}: {}", config.name(), headers.method(), headers.path(),
                        peer.orElse("(no client certificate)"), matched.map(p -> "matched " + rules.action() + " policy '" + p + "'")
                                .orElse("no ALLOW policy matched"));
            }
        }
        return ErrorResponder.reply(ResponseFlag.RBAC, DENIED, ctx.info().grpc(), ctx.info());
    }
}
