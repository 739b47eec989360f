package dev.trellis.controlplane.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The versioned mesh policy: every accepted change becomes a new revision (monotonically
 * increasing, never reused, also across a rollback), kept in a bounded history and written to
 * {@code <data-dir>/policy/store.json} atomically (temp file + rename) before it is published.
 */
public final class PolicyStore {
    private static final Logger log = LoggerFactory.getLogger(PolicyStore.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int HISTORY = 100;

    private final Path file;
    private final Clock clock;
    private final Deque<PolicyRevision> history = new ArrayDeque<>();
    private final List<Consumer<PolicyRevision>> listeners = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Function<MeshPolicy, List<String>>> constraints = new CopyOnWriteArrayList<>();
    private volatile PolicyRevision current;

    /** A store persisted under {@code dataDir} (null: in memory only), loading what is there. */
    public PolicyStore(Path dataDir, Clock clock) {
        this.clock = clock;
        this.file = dataDir == null ? null : dataDir.resolve("policy").resolve("store.json");
        PolicyRevision initial = new PolicyRevision(0, clock.instant(), "empty", List.of(), List.of(), MeshPolicy.EMPTY);
        if (file != null && Files.exists(file)) {
            load();
        }
        if (history.isEmpty()) {
            history.add(initial);
        }
        current = history.peekLast();
    }

    public PolicyRevision current() {
        return current;
    }

    public synchronized List<PolicyRevision> history() {
        return List.copyOf(history);
    }

    /** Called with every new revision, after it is persisted (on the thread that made the change). */
    public void onChange(Consumer<PolicyRevision> listener) {
        listeners.add(listener);
    }

    /**
     * A check every new policy must pass besides validation, e.g. that MeshConfig's trust domain is
     * the CA's: it returns the errors (empty: fine), which refuse the change as validation errors do.
     */
    public void constraint(java.util.function.Function<MeshPolicy, List<String>> check) {
        constraints.add(check);
    }

    private MeshPolicy checked(MeshPolicy policy) throws PolicyException {
        List<String> errors = new ArrayList<>();
        for (var c : constraints) errors.addAll(c.apply(policy));
        if (!errors.isEmpty()) throw new PolicyException(errors);
        return policy;
    }

    /** Creates or replaces documents (by kind and name) and deletes {@code deletes}, as one change. */
    public PolicyRevision apply(Collection<PolicyDocument> puts, Collection<PolicyDocument.Key> deletes, String source)
            throws PolicyException {
        return change(docs -> {
            List<String> missing = new ArrayList<>();
            for (PolicyDocument.Key k : deletes) {
                if (docs.remove(k) == null) missing.add(k + ": not found (expected: an existing document)");
            }
            if (!missing.isEmpty()) throw new PolicyException(missing);
            for (PolicyDocument d : puts) docs.put(d.key(), d);
        }, source);
    }

    /**
     * Makes the documents that came from the policy directory exactly {@code dirDocs}: new and
     * edited files apply, documents whose file is gone are deleted.
     */
    public PolicyRevision replaceDirectory(Collection<PolicyDocument> dirDocs) throws PolicyException {
        return change(docs -> {
            docs.values().removeIf(PolicyDocument::fromDirectory);
            for (PolicyDocument d : dirDocs) docs.put(d.key(), d);
        }, "dir");
    }

    /** Makes the policy of revision {@code to} current again, as a new revision. */
    public PolicyRevision rollback(long to) throws PolicyException {
        PolicyRevision target;
        synchronized (this) {
            target = history.stream().filter(r -> r.revision() == to).findFirst().orElse(null);
        }
        if (target == null) {
            throw new PolicyException("revision: " + to + " (expected: a revision in the history, "
                    + history().get(0).revision() + ".." + current.revision() + ")");
        }
        List<PolicyDocument> docs = target.documents();
        return change(m -> {
            m.clear();
            for (PolicyDocument d : docs) m.put(d.key(), d);
        }, "rollback to " + to);
    }

    /** Validates {@code docs} merged into the current policy without applying anything. */
    public MeshPolicy dryRun(Collection<PolicyDocument> puts) throws PolicyException {
        Map<PolicyDocument.Key, PolicyDocument> docs = asMap(current.documents());
        for (PolicyDocument d : puts) docs.put(d.key(), d);
        return checked(PolicyValidator.validate(docs.values(), current.revision()));
    }

    private interface Edit {
        void apply(Map<PolicyDocument.Key, PolicyDocument> docs) throws PolicyException;
    }

    private PolicyRevision change(Edit edit, String source) throws PolicyException {
        PolicyRevision next;
        synchronized (this) {
            PolicyRevision cur = current;
            Map<PolicyDocument.Key, PolicyDocument> docs = asMap(cur.documents());
            edit.apply(docs);
            List<String> changes = diff(cur.documents(), docs);
            if (changes.isEmpty()) {
                return cur;
            }
            long rev = cur.revision() + 1;
            MeshPolicy policy = checked(PolicyValidator.validate(docs.values(), rev));
            next = new PolicyRevision(rev, clock.instant(), source, changes, List.copyOf(docs.values()), policy);
            history.addLast(next);
            while (history.size() > HISTORY) history.removeFirst();
            persist();
            current = next;
        }
        log.info("policy revision {} from {}: {}", next.revision(), source, String.join(", ", next.changes()));
        for (Consumer<PolicyRevision> l : listeners) {
            try {
                l.accept(next);
            } catch (RuntimeException e) {
                log.warn("policy listener failed for revision {}", next.revision(), e);
            }
        }
        return next;
    }

    private static Map<PolicyDocument.Key, PolicyDocument> asMap(List<PolicyDocument> docs) {
        Map<PolicyDocument.Key, PolicyDocument> m = new TreeMap<>();
        for (PolicyDocument d : docs) m.put(d.key(), d);
        return m;
    }

    private static List<String> diff(List<PolicyDocument> before, Map<PolicyDocument.Key, PolicyDocument> after) {
        Map<PolicyDocument.Key, PolicyDocument> old = asMap(before);
        List<String> out = new ArrayList<>();
        for (PolicyDocument d : after.values()) {
            PolicyDocument o = old.get(d.key());
            if (o == null) out.add("+ " + d.ref());
            else if (!o.sameContent(d) || !o.source().equals(d.source())) out.add("~ " + d.ref());
        }
        for (PolicyDocument.Key k : old.keySet()) if (!after.containsKey(k)) out.add("- " + k);
        return out;
    }

    private void persist() {
        if (file == null) return;
        ObjectNode root = JSON.createObjectNode();
        ArrayNode revs = root.putArray("revisions");
        for (PolicyRevision r : history) {
            ObjectNode o = revs.addObject();
            o.put("revision", r.revision());
            o.put("time", r.time().toString());
            o.put("source", r.source());
            ArrayNode ch = o.putArray("changes");
            r.changes().forEach(ch::add);
            ArrayNode ds = o.putArray("documents");
            for (PolicyDocument d : r.documents()) {
                ObjectNode dn = ds.addObject();
                dn.put("kind", d.kind().name());
                dn.put("name", d.name());
                dn.put("source", d.source());
                dn.set("spec", d.spec());
            }
        }
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(java.nio.ByteBuffer.wrap(bytes));
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("policy store " + file + ": cannot write", e);
        }
    }

    private void load() {
        try {
            JsonNode root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
            for (JsonNode o : root.path("revisions")) {
                List<PolicyDocument> docs = new ArrayList<>();
                for (JsonNode dn : o.path("documents")) {
                    docs.add(new PolicyDocument(PolicyKind.parse(dn.path("kind").asText()), dn.path("name").asText(),
                            dn.path("spec"), dn.path("source").asText("api")));
                }
                long rev = o.path("revision").asLong();
                MeshPolicy policy;
                try {
                    policy = PolicyValidator.validate(docs, rev);
                } catch (PolicyException e) {
                    throw new IllegalStateException("policy store " + file + ": revision " + rev
                            + " no longer validates: " + e.getMessage(), e);
                }
                List<String> changes = new ArrayList<>();
                o.path("changes").forEach(c -> changes.add(c.asText()));
                history.add(new PolicyRevision(rev, Instant.parse(o.path("time").asText()), o.path("source").asText(),
                        List.copyOf(changes), List.copyOf(docs), policy));
            }
            log.info("policy store {}: loaded revision {}", file,
                    history.isEmpty() ? 0 : history.peekLast().revision());
        } catch (IOException e) {
            throw new UncheckedIOException("policy store " + file + ": cannot read", e);
        }
    }
}
