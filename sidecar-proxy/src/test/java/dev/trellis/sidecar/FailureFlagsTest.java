package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import dev.trellis.sidecar.testing.RawBackend;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each failure becomes the documented response with its Envoy response flag. */
class FailureFlagsTest {
    static Backend backend;
    static RawBackend resetting;
    static RawBackend partial;
    static Proxy proxy;
    static final HttpClient client = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        backend = new Backend("ok");
        resetting = new RawBackend("");
        partial = new RawBackend("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        // panic threshold 0: without it Envoy's panic mode would still try the one unhealthy host
        String unhealthy = j("{'name': 'sick', 'common_lb_config': {'healthy_panic_threshold': {'value': 0}}, 'load_assignment': {'cluster_name': 'sick', 'endpoints': [{'lb_endpoints': ["
                + "{'endpoint': {'address': {'socket_address': {'address': '127.0.0.1', 'port_value': " + backend.port() + "}}}, 'health_status': 'UNHEALTHY'}]}]}}");
        String routes = vhost(route("/uf", "down"), route("/uh", "sick"), route("/uc", "reset"), route("/partial", "partial"),
                j("{'match': {'prefix': '/slow'}, 'route': {'cluster': 'ok', 'timeout': '0.3s'}}"),
                route("/ok", "ok"));
        proxy = Proxy.start(bootstrap(listener("main", "", routes), String.join(",",
                cluster("down", "", closed), unhealthy, cluster("reset", "", resetting.port()),
                cluster("partial", "", partial.port()), cluster("ok", "", backend.port()))));
    }

    @AfterAll
    static void stop() throws IOException {
        proxy.close();
        backend.close();
        resetting.close();
        partial.close();
    }

    static HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(proxy.uri("main", path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertFlag(String path, int status, String flag, String detail) throws Exception {
        HttpResponse<String> r = get(path);
        assertThat(r.statusCode()).as(path).isEqualTo(status);
        assertThat(r.headers().firstValue("x-trellis-response-flags")).as(path).contains(flag);
        assertThat(r.body()).as(path).contains(detail);
    }

    static void awaitMetric(String text) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(proxy.sidecar.metrics().scrape()).contains(text));
    }

    @Test
    void connectRefusedIs503UF() throws Exception {
        assertFlag("/uf", 503, "UF", "upstream connect error");
        awaitMetric("destination_service=\"down\",grpc_status=\"-\",reporter=\"source\",request_protocol=\"http\","
                + "response_code=\"503\",response_flags=\"UF\"");
    }

    @Test
    void connectTimeoutIs503UF() throws Exception {
        // a listener whose accept queue is full drops further SYNs, so the connect hangs until connect_timeout
        try (ServerSocket full = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            List<java.net.Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    java.net.Socket s = new java.net.Socket();
                    try {
                        s.connect(full.getLocalSocketAddress(), 200);
                        fillers.add(s);
                    } catch (IOException e) {
                        s.close();
                        break;
                    }
                }
                String b = bootstrap(listener("ct", "", vhost(route("/", "hang"))),
                        cluster("hang", "", full.getLocalPort()).replace("'connect_timeout': '1s'".replace('\'', '"'), "\"connect_timeout\": \"0.3s\""));
                try (Proxy p = Proxy.start(b)) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("ct", "/")).build(), HttpResponse.BodyHandlers.ofString());
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(r.headers().firstValue("x-trellis-response-flags")).contains("UF");
                    assertThat(r.body()).containsIgnoringCase("timed out");
                    assertThat(ms).isBetween(250L, 3000L);
                }
            } finally {
                for (java.net.Socket s : fillers) {
                    s.close();
                }
            }
        }
    }

    @Test
    void noHealthyHostIs503UH() throws Exception {
        assertFlag("/uh", 503, "UH", "no healthy upstream");
    }

    @Test
    void resetBeforeResponseIs503UC() throws Exception {
        assertFlag("/uc", 503, "UC", "upstream reset");
    }

    @Test
    void routeTimeoutIs504UT() throws Exception {
        long t0 = System.nanoTime();
        assertFlag("/slow?ms=3000", 504, "UT", "upstream request timeout");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2500);
    }

    @Test
    void resetAfterResponseStartedResetsTheDownstream() {
        assertThatThrownBy(() -> get("/partial")).isInstanceOf(IOException.class);
        awaitMetric("destination_service=\"partial\",grpc_status=\"-\",reporter=\"source\",request_protocol=\"http\","
                + "response_code=\"200\",response_flags=\"UC\"");
    }

    @Test
    void connectIsRefusedWith405() throws Exception {
        try (var raw = new dev.trellis.sidecar.testing.Raw(proxy.port("main"))) {
            raw.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
            assertThat(raw.readUntilClose(3000)).startsWith("HTTP/1.1 405");
        }
    }

    @Test
    void healthyRequestsStillWork() throws Exception {
        assertThat(get("/ok").statusCode()).isEqualTo(200);
    }
}
