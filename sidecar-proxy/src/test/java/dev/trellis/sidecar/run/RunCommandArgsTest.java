package dev.trellis.sidecar.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.common.cli.Cli;
import org.junit.jupiter.api.Test;

/** The options {@code trellis run} shares with the sidecar reach the sidecar's command line. */
class RunCommandArgsTest {
    private static RunCommand parse(String... args) {
        RunCommand c = new RunCommand();
        Cli.commandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void theAppsGrpcPortIsPassedToTheSidecar() {
        assertThat(parse("--service", "users", "--app-port", "8080", "--app-grpc-port", "9090", "--", "app").sidecarArgs())
                .containsSequence("--app-grpc-port", "9090");
        assertThat(parse("--service", "users", "--app-port", "8080", "--", "app").sidecarArgs())
                .doesNotContain("--app-grpc-port");
    }
}
