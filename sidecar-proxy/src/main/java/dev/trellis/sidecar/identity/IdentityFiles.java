package dev.trellis.sidecar.identity;

import dev.trellis.certs.TrustBundle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The sidecar's identity flags: {@code --ca-file} (the mesh bundle, default the local control
 * plane's {@code .trellis/control-plane/ca-bundle.pem} under the Trellis home) and
 * {@code --token-file} (the join token).
 */
public final class IdentityFiles {
    public static final String DEFAULT_TRUST_DOMAIN = "trellis.local";

    private IdentityFiles() {}

    /** {@code ca-bundle.pem} in the local control plane's default data dir. */
    public static Path defaultCaFile() {
        return Path.of(System.getProperty("trellis.home", ".")).resolve(".trellis").resolve("control-plane").resolve("ca-bundle.pem");
    }

    /** Reads the bundle; the message names the flag, the file and what was expected. */
    public static TrustBundle bundle(Path caFile) {
        Path f = caFile != null ? caFile : defaultCaFile();
        try {
            try {
                return TrustBundle.read(f);
            } catch (IllegalArgumentException noSpiffeRoot) {
                // an operator's root without a spiffe:// URI SAN: the mesh default trust domain
                return TrustBundle.read(f, DEFAULT_TRUST_DOMAIN);
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("--ca-file: '" + f + "': " + (Files.exists(f) ? e.getMessage() : "no such file")
                    + " (expected: the control plane's ca-bundle.pem)", e);
        }
    }

    /** Reads the join token, if a file is given. */
    public static Optional<String> token(Path tokenFile) {
        if (tokenFile == null) return Optional.empty();
        try {
            String t = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
            if (t.isEmpty()) throw new IllegalArgumentException("--token-file: '" + tokenFile + "' is empty (expected: a join token)");
            return Optional.of(t);
        } catch (IOException e) {
            throw new IllegalArgumentException("--token-file: '" + tokenFile + "': " + e.getMessage()
                    + " (expected: a file with the token from 'trellis token create --service NAME')", e);
        }
    }
}
