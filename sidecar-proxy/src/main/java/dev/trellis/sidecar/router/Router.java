package dev.trellis.sidecar.router;

import dev.trellis.sidecar.cluster.Cluster;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.error.ErrorResponder;
import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.http.ActiveStream;
import dev.trellis.sidecar.http.HttpConnectionManager;
import dev.trellis.sidecar.http.RequestSink;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The terminal step of the filter chain: route lookup, direct responses and redirects,
 * rewrites and header mutations, cluster and host choice, then an {@link UpstreamRequest}.
 */
public final class Router {
    private Router() {}

    /** Routes the request; returns where its body goes, or {@code null} when answered locally. */
    public static RequestSink route(ActiveStream stream, Http2Headers h, boolean endStream) {
        HttpConnectionManager hcm = stream.connectionManager();
        RouteMatcher.Match m = hcm.routes().match(h);
        if (m == null) {
            stream.fail(ResponseFlag.NR, "no route for " + h.authority() + h.path());
            return null;
        }
        RouteTable.Route route = m.route();
        stream.info().route(route.name().isEmpty() ? m.virtualHost().name() : route.name());
        RouteTable.Action action = route.action();
        if (action instanceof RouteTable.DirectResponse d) {
            ErrorResponder.LocalReply r = ErrorResponder.plain(d.status(), d.body().orElse(null), stream.info());
            mutateResponse(r.headers(), m, null, hcm);
            stream.sendLocalReply(r);
            return null;
        }
        if (action instanceof RouteTable.Redirect r) {
            stream.sendLocalReply(redirect(r, h, hcm, m, stream));
            return null;
        }
        RouteTable.Forward fw = (RouteTable.Forward) action;
        RouteTable.WeightedCluster wc = pick(fw);
        Cluster cluster = hcm.clusters().get(wc.name());
        stream.info().cluster(wc.name());
        if (cluster == null) {
            stream.fail(ResponseFlag.NC, "cluster '" + wc.name() + "' not found");
            return null;
        }
        rewrite(fw, h, m);
        HeaderMutator.apply(wc.requestHeaders(), h);
        HeaderMutator.apply(route.requestHeaders(), h);
        HeaderMutator.apply(m.virtualHost().requestHeaders(), h);
        HeaderMutator.apply(hcm.routes().table().requestHeaders(), h);
        h.scheme(cluster.tls() ? "https" : "http");
        java.util.OptionalLong hash = RequestHash.compute(fw.hashPolicy(), h, stream.remoteAddress());
        fw.idleTimeout().ifPresent(stream::idleTimeout);
        RouterRequest r = new RouterRequest(stream, cluster, fw, wc, m, h, endStream, hash);
        return r.start() ? r : null;
    }

    private static RouteTable.WeightedCluster pick(RouteTable.Forward fw) {
        if (fw.clusters().size() == 1) {
            return fw.clusters().get(0);
        }
        int total = 0;
        for (RouteTable.WeightedCluster c : fw.clusters()) {
            total += c.weight();
        }
        int r = ThreadLocalRandom.current().nextInt(total);
        for (RouteTable.WeightedCluster c : fw.clusters()) {
            r -= c.weight();
            if (r < 0) {
                return c;
            }
        }
        return fw.clusters().get(fw.clusters().size() - 1);
    }

    private static void rewrite(RouteTable.Forward fw, Http2Headers h, RouteMatcher.Match m) {
        String full = h.path().toString();
        int q = full.indexOf('?');
        String path = q < 0 ? full : full.substring(0, q);
        String query = q < 0 ? "" : full.substring(q);
        String original = path;
        if (fw.prefixRewrite().isPresent()) {
            RouteTable.Match rm = m.route().match();
            String matched = rm.pathKind() == RouteTable.PathKind.REGEX ? path : rm.path();
            path = fw.prefixRewrite().get() + path.substring(Math.min(matched.length(), path.length()));
        } else if (fw.regexRewrite().isPresent()) {
            path = fw.regexRewrite().get().matcher(path).replaceAll(fw.regexSubstitution());
        }
        if (!path.equals(original)) {
            h.set("x-envoy-original-path", full);
            h.path(path + query);
        }
        fw.hostRewriteLiteral().ifPresent(hh -> h.authority(hh));
    }

    private static ErrorResponder.LocalReply redirect(RouteTable.Redirect r, Http2Headers h, HttpConnectionManager hcm,
                                                      RouteMatcher.Match m, ActiveStream stream) {
        String scheme = r.scheme().orElse(hcm.scheme());
        String authority = h.authority() == null ? "" : h.authority().toString();
        String host = r.host().orElseGet(() -> stripPort(authority));
        String port = r.port() > 0 ? ":" + r.port() : (r.host().isEmpty() && r.scheme().isEmpty() ? portOf(authority) : "");
        String full = h.path().toString();
        int q = full.indexOf('?');
        String path = q < 0 ? full : full.substring(0, q);
        String query = q < 0 || r.stripQuery() ? "" : full.substring(q);
        if (r.path().isPresent()) {
            path = r.path().get();
            if (path.contains("?")) {
                query = "";
            }
        } else if (r.prefixRewrite().isPresent() && m.route().match().pathKind() == RouteTable.PathKind.PREFIX) {
            path = r.prefixRewrite().get() + path.substring(m.route().match().path().length());
        }
        Http2Headers out = new DefaultHttp2Headers();
        out.status(Integer.toString(r.status()));
        out.set("location", scheme + "://" + host + port + path + query);
        out.setInt("content-length", 0);
        stream.info().responseCode(r.status());
        mutateResponse(out, m, null, hcm);
        return new ErrorResponder.LocalReply(out, null);
    }

    private static String stripPort(String a) {
        int c = a.lastIndexOf(':');
        return c > 0 && a.indexOf(']') < c ? a.substring(0, c) : a;
    }

    private static String portOf(String a) {
        int c = a.lastIndexOf(':');
        return c > 0 && a.indexOf(']') < c ? a.substring(c) : "";
    }

    static void mutateResponse(Http2Headers h, RouteMatcher.Match m, RouteTable.WeightedCluster wc,
                               HttpConnectionManager hcm) {
        if (wc != null) {
            HeaderMutator.apply(wc.responseHeaders(), h);
        }
        HeaderMutator.apply(m.route().responseHeaders(), h);
        HeaderMutator.apply(m.virtualHost().responseHeaders(), h);
        HeaderMutator.apply(hcm.routes().table().responseHeaders(), h);
    }
}
