package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Admin endpoints, and reload under load with zero failed requests. */
class AdminAndReloadTest {
    static Backend backend;
    static Backend other;
    static Proxy proxy;
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    static String config(String version) {
        return config(version, backend.port());
    }

    static String config(String version, int port) {
        String route = j("{'match': {'prefix': '/'}, 'route': {'cluster': 'app'}, 'response_headers_to_add': [{'header': {'key': 'x-config', 'value': '" + version + "'}}]}");
        return bootstrap(listener("main", "", vhost(route)), cluster("app", "", port));
    }

    @BeforeAll
    static void start() throws Exception {
        backend = new Backend("app");
        other = new Backend("other");
        proxy = Proxy.start(config("v0"));
    }

    @AfterAll
    static void stop() {
        proxy.close();
        backend.close();
        other.close();
    }

    static HttpResponse<String> admin(String method, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(proxy.admin(path)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void adminEndpoints() throws Exception {
        client.send(HttpRequest.newBuilder(proxy.uri("main", "/x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(admin("GET", "/health").statusCode()).isEqualTo(200);
        assertThat(admin("GET", "/ready").statusCode()).isEqualTo(200);
        HttpResponse<String> dump = admin("GET", "/config_dump");
        assertThat(dump.body()).contains("\"listeners\"").contains("\"name\" : \"main\"").contains("\"connectTimeout\" : \"PT1S\"");
        HttpResponse<String> clusters = admin("GET", "/clusters");
        assertThat(clusters.body()).contains("\"address\" : \"127.0.0.1:" + backend.port() + "\"")
                .contains("\"active_requests\"").containsPattern("\"connections\" : [1-9]").contains("\"health\" : \"HEALTHY\"");
        org.awaitility.Awaitility.await().untilAsserted(() -> assertThat(admin("GET", "/metrics").body())
                .contains("trellis_requests_total{destination_service=\"app\",grpc_status=\"-\",reporter=\"source\","
                        + "request_protocol=\"http\",response_code=\"200\",response_flags=\"-\",source_service=\"test\"}"));
        assertThat(admin("GET", "/reload").statusCode()).isEqualTo(405);
        assertThat(admin("GET", "/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void anOpenConnectionSurvivesAReloadAndItsNextRequestUsesTheNewConfig() throws Exception {
        proxy.rewrite(config("before"));
        assertThat(proxy.sidecar.reload()).isEmpty();
        try (dev.trellis.sidecar.testing.Raw raw = new dev.trellis.sidecar.testing.Raw(proxy.port("main"))) {
            raw.send("GET /slow?ms=300 HTTP/1.1\r\nHost: h\r\n\r\n");
            Thread.sleep(100);
            proxy.rewrite(config("after"));
            assertThat(admin("POST", "/reload").statusCode()).isEqualTo(200);
            raw.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
            String both = raw.readUntilClose(5000);
            assertThat(both.indexOf("x-config: before")).isGreaterThan(0);
            assertThat(both.indexOf("x-config: after")).isGreaterThan(both.indexOf("x-config: before"));
        }
    }

    @Test
    void reloadUnderLoadDropsNothingAndRefusesBadFiles() throws Exception {
        // every reload also moves cluster 'app' to the other backend: the replaced cluster drains under load
        AtomicBoolean run = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        Set<String> versions = ConcurrentHashMap.newKeySet();
        Set<String> backends = ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                while (run.get()) {
                    try {
                        HttpResponse<String> r = c.send(HttpRequest.newBuilder(proxy.uri("main", "/slow?ms=5")).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200) {
                            ok.incrementAndGet();
                            versions.add(r.headers().firstValue("x-config").orElse("none"));
                            backends.add(r.headers().firstValue("x-backend").orElse("none"));
                        } else {
                            failures.add(r.statusCode() + " " + r.body());
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            });
            th.start();
            threads.add(th);
        }
        for (int v = 1; v <= 5; v++) {
            Thread.sleep(150);
            proxy.rewrite(config("v" + v, v % 2 == 1 ? other.port() : backend.port()));
            HttpResponse<String> r = admin("POST", "/reload");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        proxy.rewrite("static_resources: {clusters: [{name: x, health_checks: [{timeout: 1s}]}]}");
        HttpResponse<String> bad = admin("POST", "/reload");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("static_resources.clusters[0]");
        Thread.sleep(200);
        run.set(false);
        for (Thread th : threads) {
            th.join();
        }
        assertThat(failures).isEmpty();
        assertThat(ok.get()).isGreaterThan(20);
        assertThat(versions).contains("v5");
        assertThat(backends).containsExactlyInAnyOrder("app", "other");
        HttpResponse<String> after = client.send(HttpRequest.newBuilder(proxy.uri("main", "/")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(after.headers().firstValue("x-config")).contains("v5");
        assertThat(proxy.sidecar.ready()).isTrue();
        proxy.rewrite(config("v6"));
        assertThat(proxy.sidecar.reload()).isEmpty();
    }
}
