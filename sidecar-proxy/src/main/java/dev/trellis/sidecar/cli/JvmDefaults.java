package dev.trellis.sidecar.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The sidecar's default JVM options, chosen by measurement for a small footprint (README,
 * "Sidecar JVM settings"). They live in {@value #RESOURCE} (a {@code java @argfile}) so that the
 * launcher, the container image, {@code trellis run} and {@code trellis bench} share one list;
 * {@value #ENV} adds options after them, which override them.
 */
public final class JvmDefaults {
    /** The options file at the root of the sidecar jar (and in {@code src/main/resources}). */
    public static final String RESOURCE = "trellis-sidecar-jvm.options";
    /** Extra JVM options for sidecar processes, after the defaults. */
    public static final String ENV = "TRELLIS_SIDECAR_JAVA_OPTS";

    private JvmDefaults() {}

    /** The options of {@value #RESOURCE}. */
    public static List<String> options() {
        try (InputStream in = JvmDefaults.class.getResourceAsStream("/" + RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the class path");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The defaults followed by {@code extra} (the value of {@value #ENV}; null or blank: none). */
    public static List<String> options(String extra) {
        List<String> out = new ArrayList<>(options());
        if (extra != null && !extra.isBlank()) {
            out.addAll(List.of(extra.trim().split("\\s+")));
        }
        return out;
    }

    /** Options of an argument file: whitespace-separated, {@code #} starts a comment to the end of the line. */
    public static List<String> parse(String text) {
        List<String> out = new ArrayList<>();
        for (String line : text.split("\\R")) {
            int hash = line.indexOf('#');
            String l = (hash < 0 ? line : line.substring(0, hash)).strip();
            if (!l.isEmpty()) {
                out.addAll(List.of(l.split("\\s+")));
            }
        }
        return out;
    }
}
