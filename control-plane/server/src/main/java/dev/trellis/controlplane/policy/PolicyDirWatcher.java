package dev.trellis.controlplane.policy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the documents from {@code *.yaml|*.yml|*.json} files under a directory applied: it
 * polls the files' content (every 250 ms by default, so an edit applies within a second on any file
 * system, without relying on inotify) and replaces the directory's documents as one change. An
 * invalid edit is logged with its errors and changes nothing; the next valid edit applies.
 */
public final class PolicyDirWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PolicyDirWatcher.class);

    private final Path dir;
    private final PolicyStore store;
    private String lastDigest = "";
    private volatile String lastError;
    private ScheduledFuture<?> task;

    public PolicyDirWatcher(Path dir, PolicyStore store) {
        this.dir = dir;
        this.store = store;
    }

    /**
     * Applies the directory once now (errors thrown), without polling: the control plane does this
     * before it makes its CA, whose trust domain is the MeshConfig's.
     */
    public synchronized void applyOnce() throws PolicyException, IOException {
        String digest = digest();
        store.replaceDirectory(read());
        lastDigest = digest;
    }

    /** Applies the directory once now (errors thrown) and then polls with {@code scheduler}. */
    public synchronized void start(ScheduledExecutorService scheduler, long periodMillis)
            throws PolicyException, IOException {
        String digest = digest();
        List<PolicyDocument> docs = read();
        store.replaceDirectory(docs);
        lastDigest = digest;
        task = scheduler.scheduleWithFixedDelay(this::poll, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    /** The last error from an edit of the directory, or null when the last edit applied. */
    public String lastError() {
        return lastError;
    }

    synchronized void poll() {
        try {
            String digest = digest();
            if (digest.equals(lastDigest)) return;
            lastDigest = digest;
            store.replaceDirectory(read());
            lastError = null;
        } catch (PolicyException e) {
            lastError = e.getMessage();
            log.error("policy dir {}: change refused, nothing applied: {}", dir, String.join("; ", e.errors()));
        } catch (IOException | RuntimeException e) {
            lastError = e.toString();
            log.error("policy dir {}: cannot read", dir, e);
        }
    }

    private List<Path> files() throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return !n.startsWith(".") && (n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json"));
            }).sorted().toList();
        }
    }

    private String digest() throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path p : files()) {
                md.update(dir.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(Files.readAllBytes(p));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<PolicyDocument> read() throws PolicyException, IOException {
        List<PolicyDocument> docs = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (Path p : files()) {
            String rel = dir.relativize(p).toString();
            try {
                docs.addAll(PolicyParser.parse(Files.readString(p, StandardCharsets.UTF_8), rel, "dir:" + rel));
            } catch (PolicyException e) {
                errors.addAll(e.errors());
            }
        }
        java.util.Set<PolicyDocument.Key> seen = new java.util.HashSet<>();
        for (PolicyDocument d : docs) {
            if (!seen.add(d.key())) {
                errors.add(d.ref() + ": defined twice in " + dir + " (expected: one document per kind and name)");
            }
        }
        if (!errors.isEmpty()) throw new PolicyException(errors);
        return docs;
    }

    @Override
    public synchronized void close() {
        if (task != null) task.cancel(false);
    }
}
