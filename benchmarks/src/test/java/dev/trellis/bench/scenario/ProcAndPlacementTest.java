package dev.trellis.bench.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Parsing /proc and deciding CPU placement. */
class ProcAndPlacementTest {

    @Test
    void cpuTicksAreUtimePlusStimeEvenWhenTheNameHasSpacesAndParentheses() {
        String stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 4 0 100 1000 200";
        assertThat(ProcStats.parseCpuTicks(stat)).isEqualTo(175);
    }

    @Test
    void statusValuesAreInBytes() {
        String status = "Name:\thaproxy\nVmPeak:\t  20000 kB\nVmHWM:\t   15360 kB\nVmRSS:\t   10240 kB\n";
        assertThat(ProcStats.parseStatusKb(status, "VmHWM:")).hasValue(15360L * 1024);
        assertThat(ProcStats.parseStatusKb(status, "VmRSS:")).hasValue(10240L * 1024);
        assertThat(ProcStats.parseStatusKb(status, "VmSwap:")).isEmpty();
    }

    @Test
    void readsThisProcess() {
        long pid = ProcessHandle.current().pid();
        assertThat(ProcStats.cpuTicks(pid)).isPresent();
        assertThat(ProcStats.peakRssBytes(pid).orElseThrow()).isGreaterThan(1 << 20);
        assertThat(ProcStats.clockTicksPerSecond()).isPositive();
    }

    @Test
    void compilerThreadsAreCountedInAJvmAndAbsentElsewhere() throws Exception {
        // this JVM has C1/C2 compiler threads that have compiled the test framework by now
        long self = ProcessHandle.current().pid();
        long ticks = 0;
        for (int i = 0; i < 200 && ticks == 0; i++) {
            ticks = ProcStats.compilerTicks(self);
            if (ticks == 0) {
                compileSomething(i);
            }
        }
        assertThat(ticks).as("compiler CPU ticks of this JVM").isPositive();
        Process sleep = new ProcessBuilder("sleep", "30").start();
        try {
            assertThat(ProcStats.compilerTicks(sleep.pid())).as("a process without compiler threads").isZero();
        } finally {
            sleep.destroy();
        }
        assertThat(ProcStats.compilerTicks(Long.MAX_VALUE)).as("a process that is not there").isZero();
    }

    /** Work for the JIT: new lambdas and loops until the compiler threads have used a clock tick. */
    private static long compileSomething(int seed) {
        long sum = 0;
        for (int i = 0; i < 200_000; i++) {
            sum += Long.toString(i * 31L + seed).hashCode();
        }
        return sum;
    }

    @Test
    void parsesCpuLists() {
        assertThat(CpuPlacement.parseList("0-3,6,8-9")).containsExactly(0, 1, 2, 3, 6, 8, 9);
        assertThat(CpuPlacement.parseList("1")).containsExactly(1);
    }

    @Test
    void splitsTheAllowedCpusBetweenGeneratorAndProxies() {
        Optional<Path> taskset = Optional.of(Path.of("/usr/bin/taskset"));
        CpuPlacement two = CpuPlacement.decide(true, List.of(0, 1), taskset);
        assertThat(two.generatorCpus()).containsExactly(0);
        assertThat(two.proxyCpus()).containsExactly(1);
        assertThat(two.proxyPrefix()).containsExactly("/usr/bin/taskset", "-c", "1");
        assertThat(two.proxyThreads()).isEqualTo(1);
        assertThat(two.note()).contains("CPU 0", "CPU 1");

        CpuPlacement four = CpuPlacement.decide(true, List.of(2, 3, 4, 5), taskset);
        assertThat(four.generatorCpus()).containsExactly(2, 3);
        assertThat(four.proxyPrefix()).containsExactly("/usr/bin/taskset", "-c", "4,5");
    }

    @Test
    void doesNotPinWithOneCpuWithoutTasksetOrWhenAskedNotTo() {
        Optional<Path> taskset = Optional.of(Path.of("/usr/bin/taskset"));
        assertThat(CpuPlacement.decide(true, List.of(0), taskset).pinned()).isFalse();
        assertThat(CpuPlacement.decide(true, List.of(0), taskset).note()).contains("only 1 CPU");
        CpuPlacement noTaskset = CpuPlacement.decide(true, List.of(0, 1), Optional.empty());
        assertThat(noTaskset.pinned()).isFalse();
        assertThat(noTaskset.note()).contains("util-linux");
        assertThat(CpuPlacement.decide(false, List.of(0, 1), taskset).proxyPrefix()).isEmpty();
    }
}
