package dev.trellis.bench.jmh;

import dev.trellis.sidecar.config.HeaderMutation;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.StringMatch;
import dev.trellis.sidecar.router.RouteMatcher;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The sidecar's route lookup per request: virtual host by authority (with port) among
 * {@code virtualHosts} services as the control plane's outbound route configuration lists them,
 * then the first matching route of four (prefix, exact path, header match, regex) before the
 * service's default {@code /} route.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RouteMatchBenchmark {
    @Param({"10", "1000"})
    int virtualHosts;

    private RouteMatcher matcher;
    private Http2Headers defaultRoute;
    private Http2Headers headerRoute;

    @Setup
    public void setUp() {
        List<RouteTable.VirtualHost> vhosts = new ArrayList<>();
        for (int v = 0; v < virtualHosts; v++) {
            String svc = "svc-" + v;
            List<RouteTable.Route> routes = List.of(
                    route(svc, "prefix", new RouteTable.Match(RouteTable.PathKind.PREFIX, "/admin", Optional.empty(), true,
                            List.of(), List.of(), Optional.empty())),
                    route(svc, "exact", new RouteTable.Match(RouteTable.PathKind.PATH, "/api/v1/health", Optional.empty(), true,
                            List.of(), List.of(), Optional.empty())),
                    route(svc, "canary", new RouteTable.Match(RouteTable.PathKind.PREFIX, "/api", Optional.empty(), true,
                            List.of(new RouteTable.HeaderMatch("x-canary", new StringMatch(StringMatch.Kind.EXACT, "1", null, false),
                                    false, false, false)), List.of(), Optional.empty())),
                    route(svc, "regex", new RouteTable.Match(RouteTable.PathKind.REGEX, "", Optional.of(
                            java.util.regex.Pattern.compile("/orders/[0-9]+")), true, List.of(), List.of(), Optional.empty())),
                    route(svc, "default", new RouteTable.Match(RouteTable.PathKind.PREFIX, "/", Optional.empty(), true,
                            List.of(), List.of(), Optional.empty())));
            vhosts.add(new RouteTable.VirtualHost(svc, List.of(svc, svc + ":*"), routes, HeaderMutation.NONE, HeaderMutation.NONE));
        }
        matcher = new RouteMatcher(new RouteTable("outbound", vhosts, HeaderMutation.NONE, HeaderMutation.NONE));
        String authority = "svc-" + (virtualHosts / 2) + ":8080";
        defaultRoute = request(authority, "/api/v1/users/42?expand=true").add("x-canary", "0");
        headerRoute = request(authority, "/api/v1/users/42").add("x-canary", "1");
    }

    private static Http2Headers request(String authority, String path) {
        return new DefaultHttp2Headers().method("GET").scheme("http").authority(authority).path(path)
                .add("user-agent", "bench/1.0").add("accept", "application/json");
    }

    private static RouteTable.Route route(String svc, String name, RouteTable.Match m) {
        RouteTable.Forward f = new RouteTable.Forward(List.of(new RouteTable.WeightedCluster("outbound|" + svc, 1,
                HeaderMutation.NONE, HeaderMutation.NONE)), Duration.ofSeconds(15), Optional.empty(), Optional.empty(), "",
                Optional.empty(), false);
        return new RouteTable.Route(svc + "/" + name, m, f, HeaderMutation.NONE, HeaderMutation.NONE);
    }

    /** Falls through four routes to the default one. */
    @Benchmark
    public RouteMatcher.Match defaultRoute() {
        return matcher.match(defaultRoute);
    }

    /** Stops at the third route (prefix plus header). */
    @Benchmark
    public RouteMatcher.Match headerRoute() {
        return matcher.match(headerRoute);
    }
}
