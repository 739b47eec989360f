package dev.trellis.sidecar.cli;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.sidecar.testing.Backend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code trellis sidecar --config FILE} as a real process (on the NIO transport): SIGHUP re-reads
 * the file; a bad file is refused and the old config keeps serving.
 */
class SighupReloadProcessTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    Path dir;

    static String config(Backend backend, String version) {
        String route = j("{'match': {'prefix': '/'}, 'route': {'cluster': 'app'}, 'response_headers_to_add': "
                + "[{'header': {'key': 'x-config', 'value': '" + version + "'}}]}");
        return bootstrap(listener("main", "", vhost(route)), cluster("app", "", backend.port()));
    }

    static String configVersion(int port) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/echo")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.headers().firstValue("x-config").orElse("none");
    }

    static void hangUp(Process p) throws Exception {
        assertThat(new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor()).isZero();
    }

    @Test
    void sighupReloadsTheFileAndABadFileKeepsTheOldConfig() throws Exception {
        Path file = dir.resolve("bootstrap.yaml");
        Path log = dir.resolve("sidecar.log");
        try (Backend backend = new Backend("app")) {
            Files.writeString(file, config(backend, "v1"));
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    // NIO here: the in-process tests run on epoll, so NIO carries real traffic too
                    "-Xmx128m", "-XX:TieredStopAtLevel=1", "-Dtrellis.transport=nio", "-cp", System.getProperty("java.class.path"),
                    SidecarMain.class.getName(), "sidecar", "--config", file.toString(), "--io-threads", "1")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                Pattern listening = Pattern.compile("listening on \\{main=[^:]*:(\\d+)}");
                int[] port = new int[1];
                await().atMost(Duration.ofSeconds(60)).until(() -> {
                    Matcher m = listening.matcher(Files.readString(log));
                    if (m.find()) {
                        port[0] = Integer.parseInt(m.group(1));
                    }
                    return port[0] != 0 || !p.isAlive();
                });
                assertThat(p.isAlive()).as(Files.readString(log)).isTrue();
                assertThat(configVersion(port[0])).isEqualTo("v1");
                assertThat(Files.readString(log)).contains("(nio)");

                Files.writeString(file, config(backend, "v2"));
                hangUp(p);
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(configVersion(port[0])).isEqualTo("v2"));

                Files.writeString(file, "static_resources: {clusters: [{name: x, health_checks: [{timeout: 1s}]}]}");
                hangUp(p);
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(Files.readString(log))
                        .contains("reload refused").contains("static_resources.clusters[0]"));
                assertThat(p.isAlive()).isTrue();
                assertThat(configVersion(port[0])).isEqualTo("v2");
            } finally {
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            }
        }
    }
}
