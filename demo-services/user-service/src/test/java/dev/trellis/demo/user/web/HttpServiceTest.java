package dev.trellis.demo.user.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.demo.user.TestHttp;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HttpServiceTest {

    @Test
    void drainsThenFinishesInFlightRequestsBeforeClosing() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Router router = new Router().add("GET", "/slow", r -> {
            entered.countDown();
            release.await(30, TimeUnit.SECONDS);
            return Response.json(200, Map.of("done", true));
        });
        HttpService service = HttpService.start("test", "127.0.0.1", 0, 4, router, () -> true);
        TestHttp http = new TestHttp(service.port());
        assertThat(http.get("/ready").status()).isEqualTo(200);

        service.beginDrain();
        assertThat(http.get("/ready").status()).isEqualTo(503);
        assertThat(http.get("/health").status()).isEqualTo(200);

        CompletableFuture<TestHttp.Reply> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return http.get("/slow");
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(entered.await(30, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> service.stop(Duration.ofSeconds(20)));
        Thread.sleep(200);
        assertThat(stopped).isNotDone();
        release.countDown();

        TestHttp.Reply reply = slow.get(30, TimeUnit.SECONDS);
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body().get("done").asBoolean()).isTrue();
        stopped.get(30, TimeUnit.SECONDS);
        assertThatThrownBy(() -> new TestHttp(service.port()).get("/health")).isInstanceOf(IOException.class);
    }

    @Test
    void readyWaitsForTheRestOfTheService() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean up = new java.util.concurrent.atomic.AtomicBoolean();
        HttpService service = HttpService.start("test", "127.0.0.1", 0, 2, new Router(), up::get);
        try {
            TestHttp http = new TestHttp(service.port());
            assertThat(http.get("/ready").status()).isEqualTo(503);
            assertThat(http.get("/ready").body().get("status").asText()).isEqualTo("STARTING");
            up.set(true);
            assertThat(http.get("/ready").status()).isEqualTo(200);
        } finally {
            service.stop(Duration.ofSeconds(1));
        }
    }
}
