package dev.trellis.controlplane.identity;

import com.sun.net.httpserver.Headers;
import dev.trellis.controlplane.admin.AdminServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The operator token of the admin REST API: {@value #FILE} in the data dir (mode 0600), made on
 * first start. Requests to {@code /api/} send {@code Authorization: Bearer <token>}.
 */
public final class AdminToken implements AdminServer.Guard {
    public static final String FILE = "admin.token";
    private final String token;

    private AdminToken(String token) {
        this.token = token;
    }

    /** Loads {@code <dir>/admin.token} or creates it; with a null dir the token lives in memory only. */
    public static AdminToken loadOrCreate(Path dir) throws IOException {
        if (dir != null) {
            Path f = dir.resolve(FILE);
            if (Files.exists(f)) {
                String t = Files.readString(f, StandardCharsets.UTF_8).strip();
                if (t.length() < 32) throw new IOException(f + ": token of " + t.length() + " characters (expected: at least 32)");
                return new AdminToken(t);
            }
        }
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        AdminToken t = new AdminToken(Base64.getUrlEncoder().withoutPadding().encodeToString(b));
        if (dir != null) SecretFiles.write(dir.resolve(FILE), t.token + "\n");
        return t;
    }

    public String token() {
        return token;
    }

    @Override
    public String check(String method, String path, Headers headers) {
        String h = headers.getFirst("Authorization");
        if (h == null) return "Authorization: missing (expected: Bearer <admin token>, see <data-dir>/admin.token)";
        if (!h.regionMatches(true, 0, "Bearer ", 0, 7)) return "Authorization: not a bearer token (expected: Bearer <admin token>)";
        byte[] presented = h.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(presented, token.getBytes(StandardCharsets.UTF_8)) ? null
                : "Authorization: wrong admin token (expected: the token in <data-dir>/admin.token)";
    }
}
