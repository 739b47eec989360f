package dev.trellis.bench.report;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * How a run was made, for the report's method and machine sections.
 *
 * @param command   the command line that reproduces the run
 * @param machine   label -> value, in display order (cores, CPU model, JVM, ...)
 * @param placement where processes ran (CPU pinning), one sentence
 * @param rounds    how many times each phase ran ({@code --rounds})
 * @param notes     anything else a reader must know (skips, warnings)
 */
public record RunInfo(String command, Instant started, Instant finished, String protocol, List<Integer> rates,
                      Duration warmup, Duration duration, Duration maxDuration, int connections, int payloadBytes,
                      int maxDepth, int rounds, Map<String, String> machine, String placement, List<String> notes) {}
