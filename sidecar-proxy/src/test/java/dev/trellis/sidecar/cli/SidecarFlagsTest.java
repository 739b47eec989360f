package dev.trellis.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.common.cli.Cli;
import dev.trellis.sidecar.xds.MeshSidecar;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code trellis sidecar} flags mode: what the flags become, and errors that name the option and value. */
class SidecarFlagsTest {
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = Cli.commandLine(new SidecarMain());
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    private static MeshSidecar.Options options(String... args) {
        SidecarMain.SidecarCommand c = new SidecarMain.SidecarCommand();
        CommandLine cl = Cli.commandLine(c);
        cl.parseArgs(args);
        return c.options();
    }

    @Test
    void flagsBecomeTheOptionsWithDefaults() {
        MeshSidecar.Options o = options("--service", "users", "--app-port", "8080", "--control-plane", "cp.local:15012",
                "--upstream", "orders=9001", "--upstream", "billing=9002", "--label", "version=v2", "--label", "zone=a",
                "--instance-id", "users-1", "--address", "10.0.0.5", "--protocol", "grpc", "--inbound-port", "16006");
        assertThat(o.service()).isEqualTo("users");
        assertThat(o.appPort()).isEqualTo(8080);
        assertThat(o.controlPlane().toString()).isEqualTo("cp.local:15012");
        assertThat(o.upstreams()).isEqualTo(Map.of("orders", 9001, "billing", 9002));
        assertThat(o.labels()).isEqualTo(Map.of("version", "v2", "zone", "a"));
        assertThat(o.instanceId()).isEqualTo("users-1");
        assertThat(o.address()).isEqualTo("10.0.0.5");
        assertThat(o.protocol()).isEqualTo("grpc");
        assertThat(o.inboundPort()).isEqualTo(16006);
        assertThat(o.adminPort()).isEqualTo(15000);
        assertThat(o.outboundPort()).isEqualTo(15001);

        MeshSidecar.Options d = options("--service", "users", "--app-port", "8080");
        assertThat(d.controlPlane().toString()).isEqualTo("127.0.0.1:15012");
        assertThat(d.inboundPort()).isEqualTo(15006);
        assertThat(d.instanceId()).matches("users-[0-9a-f]{8}");
        assertThat(d.address()).isEqualTo("127.0.0.1");
        assertThat(d.protocol()).isEqualTo("http");
        assertThat(d.adminAddress()).isEqualTo("127.0.0.1");
        assertThat(options("--service", "users", "--app-port", "8080", "--admin-address", "0.0.0.0").adminAddress())
                .isEqualTo("0.0.0.0");
        assertThat(d.appGrpcPort()).isZero();
        assertThat(options("--service", "users", "--app-port", "8080", "--app-grpc-port", "9090").appGrpcPort()).isEqualTo(9090);
    }

    @Test
    void adminAddressIsAnIpInFlagsModeOnly() {
        assertThat(run("sidecar", "--service", "users", "--app-port", "8080", "--admin-address", "example.com")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--admin-address: 'example.com' (expected: an IP address such as 127.0.0.1 or 0.0.0.0)");
        err.getBuffer().setLength(0);
        assertThat(run("sidecar", "--config", "b.yaml", "--admin-address", "0.0.0.0")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--admin-address: only in flags mode");
    }

    @Test
    void badValuesNameTheirOption() {
        assertThat(run("sidecar", "--service", "users", "--app-port", "70000")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--app-port").contains("'70000' (expected: a port number 0..65535)");
        err.getBuffer().setLength(0);

        assertThat(run("sidecar", "--service", "users", "--app-port", "0")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--app-port: '0' (expected: 1..65535)");
        err.getBuffer().setLength(0);

        assertThat(run("sidecar", "--service", "Users!", "--app-port", "8080")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--service: 'Users!' (expected: lower-case letters, digits, '-' and '.')");
        err.getBuffer().setLength(0);

        assertThat(run("sidecar", "--service", "users", "--app-port", "8080", "--upstream", "orders=x")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--upstream: 'orders=x' (expected: NAME=PORT with PORT 0..65535)");
        err.getBuffer().setLength(0);

        assertThat(run("sidecar", "--service", "users", "--app-port", "8080", "--app-grpc-port", "8080")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--app-grpc-port: '8080' (expected: a port other than --app-port)");
        err.getBuffer().setLength(0);

        assertThat(run("sidecar", "--service", "users", "--app-port", "8080", "--protocol", "tcp")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--protocol: 'tcp' (expected: http, http2 or grpc)");
        err.getBuffer().setLength(0);

        assertThat(run("sidecar", "--service", "users", "--app-port", "8080", "--control-plane", "nowhere")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("--control-plane").contains("'nowhere' (expected: HOST:PORT");
        err.getBuffer().setLength(0);

        assertThat(run("sidecar", "--service", "users")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("Missing required option: '--app-port'");
    }

    @Test
    void exactlyOneMode() {
        assertThat(run("sidecar", "--config", "b.yaml", "--service", "users", "--app-port", "8080")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("two modes given (expected: either --config FILE or the flags)");
        err.getBuffer().setLength(0);
        assertThat(run("sidecar")).isEqualTo(Cli.USAGE);
        assertThat(err.toString()).contains("no mode given (expected: --config FILE, or --service NAME --app-port N");
    }
}
