package dev.trellis.bench.cp;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What one {@code trellis bench cp-scale} run does.
 *
 * @param upstreams         upstream services each proxy declares, the hot service included
 * @param registerInFlight  registrations started but not yet answered, at most (sidecars starting together)
 * @param syncTimeout       bound on registration and on the first full sync
 * @param changeTimeout     bound on each change reaching every proxy it concerns
 * @param quiet             the fleet counts as settled after this long without a response
 * @param cpJvmOptions      options of the control plane's JVM
 * @param rounds            how many times each change is made (the first runs cold code paths)
 */
public record CpScaleSettings(int services, int proxies, int upstreams, long seed, int registerInFlight,
                              Duration syncTimeout, Duration changeTimeout, Duration quiet, Path out, Path java,
                              List<String> cpJvmOptions, int rounds, String command) {
    public CpScaleSettings {
        if (services < 1) throw new IllegalArgumentException("--services: " + services + " (expected: >= 1)");
        if (proxies < 1) throw new IllegalArgumentException("--proxies: " + proxies + " (expected: >= 1)");
        if (upstreams < 1) throw new IllegalArgumentException("--upstreams: " + upstreams + " (expected: >= 1)");
        if (registerInFlight < 1) {
            throw new IllegalArgumentException("registrations in flight: " + registerInFlight + " (expected: >= 1)");
        }
        if (rounds < 1) throw new IllegalArgumentException("--rounds: " + rounds + " (expected: >= 1)");
        cpJvmOptions = List.copyOf(cpJvmOptions);
    }
}
