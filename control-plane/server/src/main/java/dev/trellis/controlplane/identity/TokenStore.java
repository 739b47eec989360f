package dev.trellis.controlplane.identity;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Join tokens: an operator makes one per service ({@code trellis token create --service NAME}); a
 * sidecar of that service proves who it is with it on its first certificate request. Only the
 * SHA-256 of a token is kept ({@value #FILE} in the data dir, mode 0600); the token itself is
 * shown once. A token is {@code <id>.<secret>}; it may be used by every replica of its service
 * until it expires or is revoked.
 */
public final class TokenStore {
    public static final String FILE = "tokens.json";
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A stored token: everything but the secret. */
    public record Entry(String id, String service, Instant created, Instant expires, Optional<Instant> revoked,
                        String sha256) {
        public String state(Instant now) {
            if (revoked.isPresent()) return "revoked";
            return expires.isAfter(now) ? "valid" : "expired";
        }
    }

    /** A token just made: {@code token} is the only copy of the secret. */
    public record Created(Entry entry, String token) {}

    /** The outcome of checking a presented token: the service, or why it is refused. */
    public record Verdict(Optional<String> service, String reason) {
        static Verdict ok(String service) {
            return new Verdict(Optional.of(service), "");
        }

        static Verdict refused(String reason) {
            return new Verdict(Optional.empty(), reason);
        }
    }

    private final Path file;
    private final Clock clock;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** @param dir the data dir, or null to keep tokens in memory */
    public TokenStore(Path dir, Clock clock) throws IOException {
        this.file = dir == null ? null : dir.resolve(FILE);
        this.clock = clock;
        if (file != null && Files.exists(file)) {
            for (var n : JSON.readTree(Files.readString(file))) {
                Entry e = new Entry(n.path("id").asText(), n.path("service").asText(),
                        Instant.parse(n.path("created").asText()), Instant.parse(n.path("expires").asText()),
                        n.hasNonNull("revoked") ? Optional.of(Instant.parse(n.path("revoked").asText())) : Optional.empty(),
                        n.path("sha256").asText());
                entries.put(e.id(), e);
            }
        }
    }

    /** Makes a token for {@code service}, valid for {@code ttl}. */
    public synchronized Created create(String service, Duration ttl) throws IOException {
        if (service == null || !service.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
            throw new IllegalArgumentException("service: '" + service + "' (expected: a service name, lower-case DNS label(s))");
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
        }
        byte[] idBytes = new byte[6];
        byte[] secret = new byte[32];
        String id;
        do {
            RANDOM.nextBytes(idBytes);
            id = HexFormat.of().formatHex(idBytes);
        } while (entries.containsKey(id));
        RANDOM.nextBytes(secret);
        String token = id + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Instant now = clock.instant();
        Entry e = new Entry(id, service, now, now.plus(ttl), Optional.empty(), sha256(token));
        entries.put(id, e);
        save();
        return new Created(e, token);
    }

    public synchronized List<Entry> list() {
        return List.copyOf(entries.values());
    }

    /** Revokes token {@code id}; false when there is no such token. */
    public synchronized boolean revoke(String id) throws IOException {
        Entry e = entries.get(id);
        if (e == null) return false;
        if (e.revoked().isEmpty()) {
            entries.put(id, new Entry(e.id(), e.service(), e.created(), e.expires(), Optional.of(clock.instant()), e.sha256()));
            save();
        }
        return true;
    }

    /** Checks a presented token. */
    public synchronized Verdict verify(String token) {
        if (token == null || token.isBlank()) return Verdict.refused("no join token");
        int dot = token.indexOf('.');
        String id = dot > 0 ? token.substring(0, dot) : "";
        Entry e = entries.get(id);
        // compare hashes in constant time even for unknown ids, so timing says nothing
        byte[] presented = sha256(token).getBytes(StandardCharsets.US_ASCII);
        byte[] stored = (e == null ? sha256("") : e.sha256()).getBytes(StandardCharsets.US_ASCII);
        boolean match = MessageDigest.isEqual(presented, stored) && e != null;
        if (!match) return Verdict.refused("join token " + (id.isEmpty() ? "(malformed)" : "'" + id + "'") + ": unknown");
        if (e.revoked().isPresent()) {
            return Verdict.refused("join token '" + id + "' for service '" + e.service() + "': revoked at " + e.revoked().get());
        }
        Instant now = clock.instant();
        if (!e.expires().isAfter(now)) {
            return Verdict.refused("join token '" + id + "' for service '" + e.service() + "': expired at " + e.expires());
        }
        return Verdict.ok(e.service());
    }

    private void save() throws IOException {
        if (file == null) return;
        ArrayNode a = JSON.createArrayNode();
        for (Entry e : entries.values()) {
            ObjectNode o = a.addObject();
            o.put("id", e.id()).put("service", e.service()).put("created", e.created().toString())
                    .put("expires", e.expires().toString()).put("sha256", e.sha256());
            if (e.revoked().isPresent()) o.put("revoked", e.revoked().get().toString());
            else o.putNull("revoked");
        }
        SecretFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(a));
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Entries as lines for logs and tests. */
    List<String> describe() {
        List<String> out = new ArrayList<>();
        Instant now = clock.instant();
        entries.values().forEach(e -> out.add(e.id() + " " + e.service() + " " + e.state(now)));
        return out;
    }
}
