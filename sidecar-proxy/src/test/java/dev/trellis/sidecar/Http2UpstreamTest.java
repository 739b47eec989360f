package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.HTTP2;
import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.testing.H2Backend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An HTTP/2 upstream that sends GOAWAY: streams up to its last-stream-id finish on the old
 * connection, which then closes; new streams open a new connection; streams above it fail as UC.
 * A gRPC upstream that cancels a call once its grpc-timeout ran out is a timeout (UT), not UC.
 */
class Http2UpstreamTest {
    static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    H2Backend backend;
    Sidecar sidecar;

    @BeforeEach
    void start() throws Exception {
        backend = new H2Backend();
        Path f = Files.createTempFile(Files.createDirectories(Path.of("target", "bootstraps")), "goaway", ".yaml");
        Files.writeString(f, bootstrap(listener("main", "", vhost(route("/", "h2"))), cluster("h2", HTTP2, backend.port())));
        // one event loop, so every request shares one upstream pool
        sidecar = Sidecar.start(() -> BootstrapLoader.load(f), 1);
    }

    @AfterEach
    void stop() {
        sidecar.close();
        backend.close();
    }

    CompletableFuture<HttpResponse<String>> get(String path) {
        URI uri = URI.create("http://127.0.0.1:" + sidecar.listenerAddress("main").getPort() + path);
        return client.sendAsync(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    }

    int upstreamConnections() {
        var host = sidecar.clusterManager().get("h2").hosts().get(0);
        return host.connections().get();
    }

    @Test
    void inFlightStreamsFinishOnTheOldConnectionAndNewStreamsGoToANewOne() throws Exception {
        CompletableFuture<HttpResponse<String>> held = get("/hold");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend.held() == 1);

        HttpResponse<String> goaway = get("/goaway").get(10, TimeUnit.SECONDS);
        assertThat(goaway.statusCode()).isEqualTo(200);
        assertThat(goaway.body()).isEqualTo("conn=0");

        HttpResponse<String> after = get("/after").get(10, TimeUnit.SECONDS);
        assertThat(after.body()).as("a stream after GOAWAY opens a new connection").isEqualTo("conn=1");
        assertThat(held).isNotDone();
        assertThat(backend.closed.get()).as("the old connection stays while a stream is in flight").isZero();

        backend.release();
        HttpResponse<String> finished = held.get(10, TimeUnit.SECONDS);
        assertThat(finished.statusCode()).isEqualTo(200);
        assertThat(finished.body()).isEqualTo("conn=0");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(backend.closed.get()).as("the old connection closes once its streams are done").isEqualTo(1);
            assertThat(upstreamConnections()).isEqualTo(1);
        });
        assertThat(get("/again").get(10, TimeUnit.SECONDS).body()).isEqualTo("conn=1");
        assertThat(backend.connections.get()).isEqualTo(2);
    }

    @Test
    void streamsAboveTheLastStreamIdFailAsUpstreamResetAndTheRestFinish() throws Exception {
        CompletableFuture<HttpResponse<String>> first = get("/hold/1");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend.held() == 1);
        CompletableFuture<HttpResponse<String>> second = get("/hold/2");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend.held() == 2);
        int firstId = backend.conns.get(0).heldIds().get(0);

        backend.goAway(0, firstId);
        HttpResponse<String> refused = second.get(10, TimeUnit.SECONDS);
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("x-trellis-response-flags")).contains("UC");
        assertThat(refused.body()).contains("GOAWAY with last-stream-id " + firstId);
        assertThat(first).isNotDone();

        assertThat(get("/next").get(10, TimeUnit.SECONDS).body()).isEqualTo("conn=1");
        backend.release();
        assertThat(first.get(10, TimeUnit.SECONDS).body()).isEqualTo("conn=0");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(backend.closed.get()).isEqualTo(1));
    }

    HttpResponse<String> grpcCall(String grpcTimeout) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + sidecar.listenerAddress("main").getPort() + "/hold/grpc");
        CompletableFuture<HttpResponse<String>> call = client.sendAsync(HttpRequest.newBuilder(uri)
                .header("content-type", "application/grpc").header("grpc-timeout", grpcTimeout)
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(10)).until(() -> backend.held() == 1);
        backend.resetHeld();
        return call.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aGrpcCallCancelledByTheUpstreamAfterItsDeadlineIsDeadlineExceeded() throws Exception {
        // the proxy honours grpc-timeout itself: a call whose deadline ran out ends as DEADLINE_EXCEEDED
        // whether the proxy's timer or the upstream's cancel comes first
        URI uri = URI.create("http://127.0.0.1:" + sidecar.listenerAddress("main").getPort() + "/hold/grpc");
        HttpResponse<String> expired = client.send(HttpRequest.newBuilder(uri)
                .header("content-type", "application/grpc").header("grpc-timeout", "1n")
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(), HttpResponse.BodyHandlers.ofString());
        // the proxy may have opened the upstream stream before its timer fired: let it settle, then clear it
        int settled = backend.held();
        await().pollDelay(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> backend.held() >= settled);
        if (backend.held() > 0) {
            backend.resetHeld();
            await().atMost(Duration.ofSeconds(5)).until(() -> backend.held() == 0);
        }
        assertThat(expired.headers().firstValue("grpc-status")).contains("4");
        assertThat(expired.headers().firstValue("x-trellis-response-flags")).contains("UT");

        HttpResponse<String> early = grpcCall("100S");
        assertThat(early.headers().firstValue("grpc-status")).contains("14");
        assertThat(early.headers().firstValue("x-trellis-response-flags")).contains("UC");
    }
}
