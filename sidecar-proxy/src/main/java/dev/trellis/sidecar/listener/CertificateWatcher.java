package dev.trellis.sidecar.listener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Notices when the certificate or key files of a TLS listener change (modification time, size or
 * file key differ from the last look) and asks for that listener's TLS context to be rebuilt. A
 * rebuild that fails (say, the key was written but not the certificate yet) is retried on the next
 * check. {@link #check()} is called periodically by its owner.
 */
public final class CertificateWatcher {
    private final Supplier<Map<String, List<Path>>> files;
    private final Predicate<String> refresh;
    private final Map<String, String> seen = new HashMap<>();

    /**
     * @param files   TLS listener name to its certificate and key files, as of now
     * @param refresh rebuilds a listener's TLS context; false when that failed
     */
    public CertificateWatcher(Supplier<Map<String, List<Path>>> files, Predicate<String> refresh) {
        this.files = files;
        this.refresh = refresh;
    }

    /** Looks at every file once; refreshes listeners whose files changed since the last look. */
    public synchronized void check() {
        Map<String, List<Path>> now = files.get();
        seen.keySet().retainAll(now.keySet());
        for (Map.Entry<String, List<Path>> e : now.entrySet()) {
            String stamp = stamp(e.getValue());
            String before = seen.get(e.getKey());
            if (before == null) {
                seen.put(e.getKey(), stamp);
            } else if (!before.equals(stamp) && refresh.test(e.getKey())) {
                seen.put(e.getKey(), stamp);
            }
        }
    }

    private static String stamp(List<Path> paths) {
        StringBuilder sb = new StringBuilder();
        for (Path p : paths) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                sb.append(p).append('@').append(a.lastModifiedTime().toMillis()).append('/').append(a.size())
                        .append('/').append(a.fileKey()).append(';');
            } catch (IOException e) {
                sb.append(p).append("@missing;");
            }
        }
        return sb.toString();
    }
}
