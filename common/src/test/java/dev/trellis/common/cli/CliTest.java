package dev.trellis.common.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class CliTest {
    @Command(name = "probe")
    static final class Probe implements Callable<Integer> {
        @Option(names = "--port", converter = Cli.PortConverter.class, defaultValue = "15000")
        int port;

        @Option(names = "--timeout", defaultValue = "5s")
        Duration timeout;

        @Option(names = "--control-plane", converter = Cli.HostPortConverter.class)
        HostPort controlPlane;

        @Override
        public Integer call() {
            return 0;
        }
    }

    private static final class Run {
        final int code;
        final String err;
        final Probe probe;

        Run(Object command, String... args) {
            StringWriter err = new StringWriter();
            CommandLine cl = Cli.commandLine(command);
            cl.setErr(new PrintWriter(err, true));
            this.code = cl.execute(args);
            this.err = err.toString();
            this.probe = command instanceof Probe p ? p : null;
        }
    }

    @Test
    void defaultsAndConverters() {
        Run run = new Run(new Probe(), "--timeout", "250ms", "--control-plane", "127.0.0.1:15012");
        assertThat(run.code).isZero();
        assertThat(run.probe.port).isEqualTo(15000);
        assertThat(run.probe.timeout).isEqualTo(Duration.ofMillis(250));
        assertThat(run.probe.controlPlane).isEqualTo(new HostPort("127.0.0.1", 15012));
    }

    @Test
    void badValuesNameTheOptionAndTheValueAndExit2() {
        Run port = new Run(new Probe(), "--port", "70000");
        assertThat(port.code).isEqualTo(2);
        assertThat(port.err).contains("--port").contains("70000").contains("expected: a port number 0..65535");

        Run timeout = new Run(new Probe(), "--timeout", "soon");
        assertThat(timeout.code).isEqualTo(2);
        assertThat(timeout.err).contains("--timeout").contains("soon");

        Run cp = new Run(new Probe(), "--control-plane", "nohost");
        assertThat(cp.code).isEqualTo(2);
        assertThat(cp.err).contains("--control-plane").contains("'nohost'").contains("HOST:PORT");

        Run unknown = new Run(new Probe(), "--nope");
        assertThat(unknown.code).isEqualTo(2);
        assertThat(unknown.err).contains("--nope");
    }

    @Test
    void hostPortParsesIpv6AndRejectsBadPorts() {
        assertThat(HostPort.parse("[::1]:15012")).isEqualTo(new HostPort("::1", 15012));
        assertThat(HostPort.parse("[::1]:15012").toString()).isEqualTo("[::1]:15012");
        for (String bad : new String[] {"host:", ":80", "host:0", "host:65536", "host:x"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> HostPort.parse(bad))
                    .hasMessageContaining("'" + bad + "'");
        }
    }
}
