package dev.trellis.sidecar.testing;

import dev.trellis.sidecar.config.HttpConnectionManagerConfig;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.http.HttpConnectionManager;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** Connection managers with only local answers, for EmbeddedChannel tests of the handlers. */
public final class Embedded {
    public final List<StreamInfo> finished = new CopyOnWriteArrayList<>();
    public final HttpConnectionManager hcm;

    public Embedded(String hcmExtra) {
        this(hcmExtra, new String[0]);
    }

    /** With {@code filters} (JSON objects, see {@link Boot#rbac}) before the router. */
    public Embedded(String hcmExtra, String... filters) {
        String routes = Boot.j("{'name': 'v', 'domains': ['*'], 'routes': ["
                + "{'match': {'prefix': '/a'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'A'}}},"
                + "{'match': {'prefix': '/b'}, 'direct_response': {'status': 201, 'body': {'inline_string': 'B'}}}]}");
        String b = Boot.bootstrap(Boot.withFilters(Boot.listener("l", hcmExtra, routes), filters), Boot.cluster("unused", "", 1));
        HttpConnectionManagerConfig c = BootstrapTranslator.translate(BootstrapLoader.parse(b, false)).listeners().get(0).http();
        hcm = new HttpConnectionManager("l", c, Map.of(), finished::add, false, System::nanoTime);
    }

    /**
     * With {@code filters} (JSON list items) before the router and {@code virtualHost} (null: the
     * default /a and /b direct responses); {@code nanoTime} drives rate limits.
     */
    public Embedded(String hcmExtra, String filters, String virtualHost, java.util.function.LongSupplier nanoTime) {
        String routes = virtualHost != null ? virtualHost : defaultRoutes();
        String b = Boot.bootstrap(Boot.listenerWithFilters("l", hcmExtra, routes, filters, null), Boot.cluster("unused", "", 1));
        HttpConnectionManagerConfig c = BootstrapTranslator.translate(BootstrapLoader.parse(b, false)).listeners().get(0).http();
        hcm = new HttpConnectionManager("l", c, Map.of(), finished::add, false, nanoTime);
    }

    private static String defaultRoutes() {
        return Boot.j("{'name': 'v', 'domains': ['*'], 'routes': ["
                + "{'match': {'prefix': '/a'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'A'}}},"
                + "{'match': {'prefix': '/b'}, 'direct_response': {'status': 201, 'body': {'inline_string': 'B'}}}]}");
    }

    /** Everything written to the channel so far, as text. */
    public static String drain(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            if (o instanceof ByteBuf b) {
                sb.append(b.toString(StandardCharsets.ISO_8859_1));
                b.release();
            }
        }
        return sb.toString();
    }

    public static ByteBuf ascii(String s) {
        return io.netty.buffer.Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    }
}
