package dev.trellis.controlplane.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/** A small client of the control plane's admin REST API, for the operator commands. */
final class AdminClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Path tokenFile;
    private String token;

    /** @param tokenFile the operator token ({@code admin.token}); null for the default in the data dir */
    AdminClient(String base, Path tokenFile) {
        this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        this.tokenFile = tokenFile != null ? tokenFile : defaultTokenFile();
    }

    /** {@code admin.token} in the control plane's default data dir. */
    static Path defaultTokenFile() {
        return ControlPlaneCommand.defaultDataDir().resolve("admin.token");
    }

    private String token() throws IOException {
        if (token == null) {
            try {
                token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
            } catch (NoSuchFileException e) {
                throw new IOException("admin token " + tokenFile + ": no such file (expected: the control plane's"
                        + " <data-dir>/admin.token; set --admin-token-file)", e);
            }
        }
        return token;
    }

    /** A reply: status and body. {@link #json()} parses the body. */
    record Reply(int status, String body) {
        JsonNode json() throws IOException {
            return JSON.readTree(body);
        }

        boolean ok() {
            return status / 100 == 2;
        }

        /** The API's {@code errors} lines, or the body. */
        String errors() {
            try {
                JsonNode e = json().path("errors");
                if (e.isArray() && e.size() > 0) {
                    StringBuilder sb = new StringBuilder();
                    e.forEach(x -> sb.append(sb.length() > 0 ? "\n" : "").append(x.asText()));
                    return sb.toString();
                }
            } catch (IOException ignored) {
                // not JSON: show it as it is
            }
            return body.strip();
        }
    }

    Reply send(String method, String path, String body, String contentType) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) b.header("Content-Type", contentType);
        if (path.startsWith("/api/")) b.header("Authorization", "Bearer " + token());
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 401) {
                throw new IOException("control plane admin " + base + ": 401 " + new Reply(401, r.body()).errors()
                        + " (token from " + tokenFile + ")");
            }
            return new Reply(r.statusCode(), r.body());
        } catch (ConnectException e) {
            throw new IOException("control plane admin " + base + ": connection refused (expected: a running control plane;"
                    + " set --control-plane-admin)", e);
        }
    }

    Reply get(String path) throws IOException, InterruptedException {
        return send("GET", path, null, null);
    }
}
