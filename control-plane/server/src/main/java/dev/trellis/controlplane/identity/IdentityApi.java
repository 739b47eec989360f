package dev.trellis.controlplane.identity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.trellis.common.Durations;
import dev.trellis.controlplane.admin.AdminServer;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The admin REST routes of identity: {@code /api/v1/tokens} (POST create, GET list,
 * DELETE {@code /api/v1/tokens/ID} revoke), {@code GET /api/v1/certs} (roots and watchers) and
 * {@code POST /api/v1/certs:rotate-root?wait=60s}.
 */
public final class IdentityApi implements AdminServer.Api {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final MeshIdentity identity;
    private final Clock clock;

    public IdentityApi(MeshIdentity identity, Clock clock) {
        this.identity = identity;
        this.clock = clock;
    }

    @Override
    public AdminServer.ApiReply handle(String method, String path, Map<String, String> query, AdminServer.Body body)
            throws IOException {
        if (path.equals("/api/v1/tokens")) {
            if (method.equals("GET")) return new AdminServer.ApiReply(200, tokens());
            if (method.equals("POST")) return create(body.read());
            return notAllowed(method, "GET, POST");
        }
        if (path.startsWith("/api/v1/tokens/")) {
            if (!method.equals("DELETE")) return notAllowed(method, "DELETE");
            String id = path.substring("/api/v1/tokens/".length());
            if (!identity.tokens().revoke(id)) return errors(404, "token '" + id + "': not found (expected: an id from token list)");
            return new AdminServer.ApiReply(200, Map.of("id", id, "revoked", true));
        }
        if (path.equals("/api/v1/certs")) {
            if (!method.equals("GET")) return notAllowed(method, "GET");
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("trustDomain", identity.ca().trustDomain());
            m.put("roots", identity.status());
            m.put("bundleVersion", identity.signing().bundleVersion());
            m.put("watchers", identity.signing().watchers());
            m.put("serverCertificateNotAfter", identity.serverCertificate().notAfter().toString());
            return new AdminServer.ApiReply(200, m);
        }
        if (path.equals("/api/v1/certs:rotate-root")) {
            if (!method.equals("POST")) return notAllowed(method, "POST");
            Duration wait;
            try {
                wait = query.containsKey("wait") ? Durations.parse(query.get("wait")) : Duration.ofSeconds(60);
            } catch (RuntimeException e) {
                return errors(400, "wait: " + query.get("wait") + " (expected: a duration such as 60s)");
            }
            try {
                MeshIdentity.RotationReport r = identity.rotateRoot(wait);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("switched", r.switched());
                m.put("steps", r.steps());
                m.put("pending", r.pendingNodes());
                m.put("roots", identity.status());
                return new AdminServer.ApiReply(r.switched() ? 200 : 409, m);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return errors(503, "rotate-root interrupted");
            }
        }
        return null;
    }

    private AdminServer.ApiReply create(String body) throws IOException {
        JsonNode j;
        try {
            j = JSON.readTree(body.isBlank() ? "{}" : body);
        } catch (IOException e) {
            return errors(400, "body: not JSON (expected: {\"service\": NAME, \"ttl\": \"24h\"})");
        }
        String service = j.path("service").asText("");
        Duration ttl = TokenStore.DEFAULT_TTL;
        if (j.hasNonNull("ttl")) {
            try {
                ttl = Durations.parse(j.path("ttl").asText());
            } catch (RuntimeException e) {
                return errors(400, "ttl: " + j.path("ttl").asText() + " (expected: a duration such as 24h)");
            }
        }
        try {
            TokenStore.Created c = identity.tokens().create(service, ttl);
            Map<String, Object> m = new LinkedHashMap<>(entry(c.entry()));
            m.put("token", c.token());
            return new AdminServer.ApiReply(200, m);
        } catch (IllegalArgumentException e) {
            return errors(400, e.getMessage());
        }
    }

    private List<Map<String, Object>> tokens() {
        List<Map<String, Object>> out = new ArrayList<>();
        identity.tokens().list().forEach(e -> out.add(entry(e)));
        return out;
    }

    private Map<String, Object> entry(TokenStore.Entry e) {
        Instant now = clock.instant();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.id());
        m.put("service", e.service());
        m.put("created", e.created().toString());
        m.put("expires", e.expires().toString());
        m.put("state", e.state(now));
        return m;
    }

    private static AdminServer.ApiReply notAllowed(String method, String allowed) {
        return errors(405, "method " + method + " (expected: " + allowed + ")");
    }

    private static AdminServer.ApiReply errors(int status, String error) {
        return new AdminServer.ApiReply(status, Map.of("errors", List.of(error)));
    }
}
