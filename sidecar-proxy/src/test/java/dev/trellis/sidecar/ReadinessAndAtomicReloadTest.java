package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Boot;
import dev.trellis.sidecar.testing.Proxy;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code /ready} before and after the listeners are bound; a reload is applied whole or not at all. */
class ReadinessAndAtomicReloadTest {
    static Backend first;
    static Backend second;
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws IOException {
        first = new Backend("first");
        second = new Backend("second");
    }

    @AfterAll
    static void stop() {
        first.close();
        second.close();
    }

    /** A listener on {@code port} (0: any) whose routes send everything to cluster 'app'. */
    static String listener(String name, int port) {
        return Boot.listener(name, "", vhost(Boot.route("/", "app"))).replace("'port_value': 0".replace('\'', '"'),
                "\"port_value\": " + port);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static HttpResponse<String> get(URI uri) throws Exception {
        return client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }

    static int status(Sidecar s, String path) throws Exception {
        return get(URI.create("http://127.0.0.1:" + s.adminAddress().getPort() + path)).statusCode();
    }

    static String backendOf(int port) throws Exception {
        return get(URI.create("http://127.0.0.1:" + port + "/echo")).headers().firstValue("x-backend").orElse("none");
    }

    static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (ConnectException e) {
            return false;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void readyIs503UntilTheListenersAreBoundThen200() throws Exception {
        Path f = Files.createTempFile(Files.createDirectories(Path.of("target", "bootstraps")), "ready", ".yaml");
        Files.writeString(f, bootstrap(listener("main", 0), cluster("app", "", first.port())));
        Sidecar s = Sidecar.create(() -> BootstrapLoader.load(f), 1);
        try {
            assertThat(s.listenerAddresses()).isEmpty();
            assertThat(status(s, "/health")).isEqualTo(200);
            assertThat(status(s, "/ready")).isEqualTo(503);
            assertThat(s.reload()).contains("not started yet");
            s.listen();
            assertThat(status(s, "/ready")).isEqualTo(200);
            assertThat(backendOf(s.listenerAddress("main").getPort())).isEqualTo("first");
        } finally {
            s.close();
        }
    }

    @Test
    void aListenerThatCannotBindAtStartLeavesTheSidecarNotReady() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Path f = Files.createTempFile(Files.createDirectories(Path.of("target", "bootstraps")), "busy", ".yaml");
            Files.writeString(f, bootstrap(listener("main", 0) + "," + listener("busy", taken.getLocalPort()),
                    cluster("app", "", first.port())));
            Sidecar s = Sidecar.create(() -> BootstrapLoader.load(f), 1);
            try {
                assertThatThrownBy(s::listen).isInstanceOf(ConfigException.class)
                        .hasMessageContaining("listener 'busy': cannot bind 127.0.0.1:" + taken.getLocalPort());
                assertThat(status(s, "/ready")).isEqualTo(503);
                assertThat(s.listenerAddresses()).isEmpty();
            } finally {
                s.close();
            }
            assertThatThrownBy(() -> Sidecar.start(() -> BootstrapLoader.load(f), 1))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("listener 'busy'");
        }
    }

    @Test
    void aReloadWithAListenerThatCannotBindChangesNothing() throws Exception {
        int extraPort = freePort();
        try (Proxy p = Proxy.start(bootstrap(listener("main", 0), cluster("app", "", first.port())));
             ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            int main = p.port("main");
            assertThat(backendOf(main)).isEqualTo("first");
            Map<String, InetSocketAddress> before = p.sidecar.listenerAddresses();

            // the cluster moves to the second backend, a new listener would open, a third cannot bind
            p.rewrite(bootstrap(listener("main", 0) + "," + listener("extra", extraPort) + ","
                    + listener("busy", taken.getLocalPort()), cluster("app", "", second.port())));
            assertThat(p.sidecar.reload()).hasValueSatisfying(e ->
                    assertThat(e).contains("listener 'busy': cannot bind 127.0.0.1:" + taken.getLocalPort()));

            assertThat(backendOf(main)).isEqualTo("first");
            assertThat(p.sidecar.clusterManager().get("app").hosts().get(0).address().getPort()).isEqualTo(first.port());
            assertThat(p.sidecar.listenerAddresses()).isEqualTo(before);
            assertThat(accepts(extraPort)).as("the listener opened for the refused reload is closed").isFalse();
            assertThat(p.sidecar.ready()).isTrue();
            assertThat(status(p.sidecar, "/ready")).isEqualTo(200);

            // the same change without the listener that cannot bind is applied whole
            p.rewrite(bootstrap(listener("main", 0) + "," + listener("extra", extraPort), cluster("app", "", second.port())));
            assertThat(p.sidecar.reload()).isEmpty();
            assertThat(backendOf(main)).isEqualTo("second");
            assertThat(backendOf(extraPort)).isEqualTo("second");
        }
    }

    @Test
    void aRenamedListenerKeepsItsSocketAndAMovedOneIsRebound() throws Exception {
        int fixed = freePort();
        int moved = freePort();
        try (Proxy p = Proxy.start(bootstrap(listener("old", fixed) + "," + listener("mover", 0),
                cluster("app", "", first.port())))) {
            int before = p.port("mover");
            assertThat(backendOf(fixed)).isEqualTo("first");
            p.rewrite(bootstrap(listener("new", fixed) + "," + listener("mover", moved), cluster("app", "", first.port())));
            assertThat(p.sidecar.reload()).isEmpty();
            assertThat(p.sidecar.listenerAddresses().keySet()).containsExactly("new", "mover");
            assertThat(p.port("new")).isEqualTo(fixed);
            assertThat(backendOf(fixed)).isEqualTo("first");
            assertThat(backendOf(moved)).isEqualTo("first");
            assertThat(accepts(before)).isFalse();
        }
    }

    @Test
    void aBadClusterInAReloadKeepsTheOldModel() throws Exception {
        try (Proxy p = Proxy.start(bootstrap(listener("main", 0), cluster("app", "", first.port())))) {
            String dns = j("{'name': 'app', 'type': 'STATIC', 'connect_timeout': '1s', 'load_assignment': {'cluster_name': 'app',"
                    + " 'endpoints': [{'lb_endpoints': [{'endpoint': {'address': {'socket_address': {'address': 'localhost', 'port_value': 1}}}}]}]}}");
            p.rewrite(bootstrap(listener("main", 0), dns));
            assertThat(p.sidecar.reload()).hasValueSatisfying(e -> assertThat(e).contains("cluster 'app'"));
            assertThat(backendOf(p.port("main"))).isEqualTo("first");
        }
    }
}
