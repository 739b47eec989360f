package dev.trellis.sidecar.run;

import dev.trellis.common.cli.Cli;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code trellis run} exactly as the CLI runs it (options, signals, exit code), with
 * {@link FakeSidecar} in place of the sidecar JVM: arguments after {@code --sidecar-fake}
 * up to {@code ;} go to the fake sidecar;
 * the rest is {@code run ...} as typed.
 */
public final class RunHarness {
    private RunHarness() {}

    public static void main(String[] args) {
        List<String> fakeArgs = new ArrayList<>();
        List<String> runArgs = new ArrayList<>();
        boolean fake = false;
        for (String a : args) {
            if (a.equals("--sidecar-fake")) {
                fake = true;
            } else if (fake && a.equals(";")) {
                fake = false;
            } else if (!fake && runArgs.isEmpty() && a.equals("run")) {
                continue; // the subcommand's name: RunCommand is the top-level command here
            } else {
                (fake ? fakeArgs : runArgs).add(a);
            }
        }
        RunCommand run = new RunCommand((javaOpts, sidecarArgs) -> {
            List<String> cmd = new ArrayList<>(List.of(Supervisor.javaBinary(), "-cp",
                    System.getProperty("java.class.path"), FakeSidecar.class.getName()));
            cmd.addAll(sidecarArgs);
            cmd.addAll(fakeArgs);
            return cmd;
        });
        System.exit(Cli.commandLine(run).execute(runArgs.toArray(String[]::new)));
    }
}
