package dev.trellis.demo.user.outbox;

import dev.trellis.demo.user.store.OutboxMessage;
import dev.trellis.demo.user.web.TraceHeaders;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Delivers outbox messages with {@code POST <base>/events} (JSON), carrying the request id and trace
 * headers of the request that caused the event. Any 2xx is success; everything else is retried.
 */
public final class HttpDelivery implements Delivery {
    private final URI eventsUri;
    private final Duration timeout;
    private final HttpClient client;

    public HttpDelivery(URI baseUrl, Duration timeout) {
        String base = baseUrl.toString();
        if (!base.startsWith("http://") && !base.startsWith("https://")) {
            throw new IllegalArgumentException("notification-service URL: '" + base + "' (expected: http://host:port)");
        }
        this.eventsUri = URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/events");
        this.timeout = timeout;
        // HTTP/1.1: the local sidecar (or the service itself) speaks it; no h2c upgrade dance.
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
    }

    public URI eventsUri() {
        return eventsUri;
    }

    @Override
    public String deliver(OutboxMessage message) {
        HttpRequest.Builder request = HttpRequest.newBuilder(eventsUri)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("x-event-id", message.eventId())
                .POST(HttpRequest.BodyPublishers.ofString(message.payload()));
        TraceHeaders.of(message.headers()).values().forEach(request::header);
        try {
            HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
            int status = response.statusCode();
            if (status / 100 == 2) {
                return null;
            }
            String body = response.body();
            return "HTTP " + status + " from " + eventsUri + (body == null || body.isEmpty() ? ""
                    : ": " + (body.length() > 200 ? body.substring(0, 200) : body));
        } catch (IOException e) {
            return "cannot reach " + eventsUri + ": " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
