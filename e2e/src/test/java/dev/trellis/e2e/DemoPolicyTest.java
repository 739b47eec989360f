package dev.trellis.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy {@code trellis demo} applies passes the control plane's own validation. */
class DemoPolicyTest {
    @TempDir
    Path dir;

    static String run(Path out, String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(String.join(" ", command) + "\n" + text).isZero();
        return text;
    }

    @Test
    void theDemoPolicyIsValid() throws Exception {
        Path policy = dir.resolve("demo.yaml");
        String yaml = run(policy, Jars.java(), "-jar", Jars.existing(Jars.SIDECAR).toString(), "demo", "--print-policy",
                "--dir", dir.resolve("demo").toString());
        assertThat(yaml).contains("kind: AccessPolicy", "kind: Gateway", "requireJwt: true", "retryOn");
        String result = run(dir.resolve("validate.out"), Jars.java(), "-jar", Jars.existing(Jars.CONTROL_PLANE).toString(),
                "policy", "validate", "--offline", "-f", policy.toString());
        assertThat(result.toLowerCase()).doesNotContain("error");
    }
}
