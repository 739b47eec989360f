package dev.trellis.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A JVM started with the shipped options holds a sidecar's live heap (about 20 MiB, README "Full
 * collections") under steady allocation without a full collection: too little room in the old
 * generation made 6 to 8 of them per sidecar, up to 146 ms each, in benchmark runs.
 */
class ShippedHeapSettingsTest {
    /** What a sidecar keeps (config, classes' static state, pools) less what the probe JVM has of its own. */
    static final int RETAINED_MIB = 18;

    @Test
    void aSidecarSizedLiveHeapNeedsNoFullCollection() throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(JvmDefaults.options());
        cmd.addAll(List.of("-cp", Path.of(HeapProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString(), HeapProbe.class.getName(), Integer.toString(RETAINED_MIB)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("heap probe did not finish within 60 s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).as("full collections of the probe JVM").isEqualTo("full collections: 0");
    }

    /** Builds a retained set as a starting sidecar does, amid garbage, then allocates steadily; prints its full GC count. */
    public static final class HeapProbe {
        private static final int CHUNK = 64 * 1024;

        public static void main(String[] args) {
            int retainedMib = Integer.parseInt(args[0]);
            List<byte[]> retained = new ArrayList<>();
            byte[][] inFlight = new byte[64][];
            for (int i = 0; i < retainedMib * 1024 * 1024 / CHUNK; i++) {
                retained.add(new byte[CHUNK]);
                for (int g = 0; g < 16; g++) {
                    inFlight[g] = new byte[4096];
                }
            }
            // steady traffic: requests' short-lived objects, a few of which are in flight at each young collection
            for (int i = 0; i < 64 * 1024; i++) {
                inFlight[i & (inFlight.length - 1)] = new byte[4096];
            }
            long full = 0;
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                if (gc.getName().equals("MarkSweepCompact")) {
                    full += gc.getCollectionCount();
                }
            }
            Reference.reachabilityFence(retained);
            Reference.reachabilityFence(inFlight);
            System.out.println("full collections: " + full);
        }
    }
}
