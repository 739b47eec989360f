package dev.trellis.sidecar.cli;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.common.cli.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code trellis sidecar}: a bootstrap with an unsupported field or filter type does not start (exit 1, field path). */
class SidecarCommandTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    Result run(String bootstrap, String... extra) throws Exception {
        Path f = dir.resolve("bootstrap.yaml");
        Files.writeString(f, bootstrap);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(new SidecarMain());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] args = new String[3 + extra.length];
        args[0] = "sidecar";
        args[1] = "--config";
        args[2] = f.toString();
        System.arraycopy(extra, 0, args, 3, extra.length);
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    static String valid() {
        return bootstrap(listener("main", "", vhost(route("/", "app"))), cluster("app", "", 9));
    }

    @Test
    void anUnknownFilterTypeIsRefusedWithItsPathAndExitCode1() throws Exception {
        String lua = j("{'name': 'envoy.filters.http.lua', 'typed_config': {'@type': "
                + "'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua', 'inline_code': 'x'}}");
        Result r = run(valid().replace(j("'http_filters': ["), j("'http_filters': [") + lua + ","));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]")
                .contains("unknown typed_config type 'envoy.extensions.filters.http.lua.v3.Lua'");
    }

    @Test
    void anUnsupportedFieldIsRefusedWithItsPathAndExitCode1() throws Exception {
        Result r = run(valid().replace(j("'connect_timeout': '1s',"),
                j("'connect_timeout': '1s', 'upstream_bind_config': {'source_address': {'address': '127.0.0.1', 'port_value': 0}},")));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("static_resources.clusters[0].upstream_bind_config: not supported");
    }

    @Test
    void checkValidatesWithoutStarting() throws Exception {
        Result r = run(valid(), "--check");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("is valid: 1 listener(s), 1 cluster(s)");
    }
}
