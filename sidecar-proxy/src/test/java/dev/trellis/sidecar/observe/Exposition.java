package dev.trellis.sidecar.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Parses the Prometheus text exposition into series ({@code name{labels}}) and values. */
public final class Exposition {
    private Exposition() {}

    public static Map<String, Double> parse(String text) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int sp = line.lastIndexOf(' ');
            out.put(line.substring(0, sp), Double.parseDouble(line.substring(sp + 1)));
        }
        return out;
    }

    /** A request series with the labels in the exposition's (alphabetical) order. */
    static String series(String name, String reporter, String source, String destination, int code, String flags,
                         String grpcStatus, String protocol) {
        return name + "{destination_service=\"" + destination + "\",grpc_status=\"" + grpcStatus + "\",reporter=\""
                + reporter + "\",request_protocol=\"" + protocol + "\",response_code=\"" + code + "\",response_flags=\""
                + flags + "\",source_service=\"" + source + "\"}";
    }

    /**
     * Runs {@code promtool check metrics} on {@code text} and fails on any complaint; skips the test
     * when promtool is not installed (Debian package {@code prometheus}; {@code .ci/run} installs it).
     */
    public static void promtool(String text) throws IOException, InterruptedException {
        Assumptions.assumeTrue(promtoolInstalled(), "promtool not installed (Debian package 'prometheus'; .ci/run "
                + "installs it): skipping 'promtool check metrics'");
        checkWithPromtool(text);
    }

    /** True when {@code promtool} runs. */
    public static boolean promtoolInstalled() throws InterruptedException {
        try {
            return new ProcessBuilder("promtool", "--version").redirectErrorStream(true).start()
                    .waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            return false;
        }
    }

    /** {@code promtool check metrics} on {@code text}: no complaint. */
    public static void checkWithPromtool(String text) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("promtool check metrics: %s", out).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).as("promtool check metrics").isBlank();
    }
}
