package dev.trellis.sidecar.run;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What {@code trellis run} supervises: one sidecar (started with {@code sidecarArgs}) and one app
 * ({@code appCommand}), with the bounds of each step.
 *
 * @param service        the service name the sidecar registers
 * @param adminPort      the sidecar's admin port, polled at {@code /ready}
 * @param upstreams      upstream service name to the local port the sidecar serves it on
 * @param sidecarArgs    the sidecar command's arguments (after {@code sidecar})
 * @param appCommand     the app's command line
 * @param readyTimeout   how long the sidecar may take to become ready
 * @param removalTimeout how long the sidecar may take, after SIGTERM, to deregister, wait for the
 *                       removal acknowledgement and drain before it is killed
 * @param appStopTimeout how long the app may take after SIGTERM before it is killed
 * @param sidecarLog     where the sidecar's output goes (empty: this process's own stdout/stderr)
 * @param adminAddress   the sidecar's {@code --admin-address} (empty: 127.0.0.1)
 */
public record RunSpec(String service, int adminPort, Map<String, Integer> upstreams, List<String> sidecarArgs,
                      List<String> appCommand, Duration readyTimeout, Duration removalTimeout,
                      Duration appStopTimeout, Optional<Path> sidecarLog, Optional<String> adminAddress) {
    /** With the sidecar's admin server on 127.0.0.1. */
    public RunSpec(String service, int adminPort, Map<String, Integer> upstreams, List<String> sidecarArgs,
                   List<String> appCommand, Duration readyTimeout, Duration removalTimeout,
                   Duration appStopTimeout, Optional<Path> sidecarLog) {
        this(service, adminPort, upstreams, sidecarArgs, appCommand, readyTimeout, removalTimeout, appStopTimeout,
                sidecarLog, Optional.empty());
    }

    public RunSpec {
        upstreams = Map.copyOf(upstreams);
        sidecarArgs = List.copyOf(sidecarArgs);
        appCommand = List.copyOf(appCommand);
        if (appCommand.isEmpty()) {
            throw new IllegalArgumentException("app command: empty (expected: trellis run ... -- COMMAND [ARGS...])");
        }
        if (adminPort < 1 || adminPort > 65535) {
            throw new IllegalArgumentException("--admin-port: " + adminPort + " (expected: 1..65535; run polls it for readiness)");
        }
    }

    /** Where {@code /ready} is polled: the admin address, loopback when it binds every interface. */
    public String adminUrl(String path) {
        String a = adminAddress.orElse("127.0.0.1");
        if (a.equals("0.0.0.0")) {
            a = "127.0.0.1";
        } else if (a.equals("::") || a.equals("0:0:0:0:0:0:0:0")) {
            a = "::1";
        }
        return "http://" + (a.contains(":") ? "[" + a + "]" : a) + ":" + adminPort + path;
    }

    /** {@code TRELLIS_UPSTREAM_<NAME>_URL} for each upstream: name upper-cased, '-' and '.' become '_'. */
    public Map<String, String> upstreamEnv() {
        Map<String, String> env = new TreeMap<>();
        upstreams.forEach((name, port) -> env.put(envName(name), "http://127.0.0.1:" + port));
        return env;
    }

    /** The environment variable that carries {@code upstream}'s URL. */
    public static String envName(String upstream) {
        return "TRELLIS_UPSTREAM_" + upstream.toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_') + "_URL";
    }

    /** Parses {@code NAME=PORT} as given to {@code --upstream}. */
    public static Map.Entry<String, Integer> parseUpstream(String text) {
        String expected = "--upstream '" + text + "' (expected: NAME=PORT, such as notification-service=15101)";
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
            throw new IllegalArgumentException(expected);
        }
        String name = text.substring(0, eq);
        if (!name.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
            throw new IllegalArgumentException(expected + ": name '" + name + "' is not a service name");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(eq + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(expected);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(expected + ": port " + port + " (expected: 1..65535)");
        }
        return Map.entry(name, port);
    }
}
