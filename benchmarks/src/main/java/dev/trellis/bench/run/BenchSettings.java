package dev.trellis.bench.run;

import dev.trellis.bench.load.Protocol;
import dev.trellis.bench.scenario.ScenarioContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One benchmark run's settings, validated by the command line.
 *
 * @param maxDepth requests in flight per connection in the closed-loop phase
 * @param rounds   how many times each phase runs, round by round over all scenarios
 * @param command  the command line that reproduces the run, for the report
 */
public record BenchSettings(List<String> scenarios, List<Integer> rates, Duration warmup, Duration duration,
                            Duration maxDuration, Duration drain, int connections, Protocol protocol, int payloadBytes,
                            int maxDepth, int rounds, Path out, boolean pin, ScenarioContext.SidecarSettings sidecar, String command) {}
