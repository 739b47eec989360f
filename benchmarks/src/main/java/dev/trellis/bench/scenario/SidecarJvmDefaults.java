package dev.trellis.bench.scenario;

import dev.trellis.sidecar.cli.JvmDefaults;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The JVM options a sidecar jar ships as its defaults ({@value #ENTRY}, in the format of a
 * {@code java @argfile}), so the benchmark measures the sidecar as the launcher starts it.
 */
public final class SidecarJvmDefaults {
    /** The jar entry with the default options. */
    public static final String ENTRY = JvmDefaults.RESOURCE;

    private SidecarJvmDefaults() {}

    /** The jar's default options; none when the jar or the entry is missing (an older build). */
    public static List<String> read(Path jar) {
        if (!Files.isRegularFile(jar)) {
            return List.of();
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            ZipEntry e = zip.getEntry(ENTRY);
            if (e == null) {
                return List.of();
            }
            try (InputStream in = zip.getInputStream(e)) {
                return JvmDefaults.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + ENTRY + " from " + jar + ": " + e.getMessage(), e);
        }
    }
}
