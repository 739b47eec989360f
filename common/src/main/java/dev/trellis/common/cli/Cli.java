package dev.trellis.common.cli;

import dev.trellis.common.Durations;
import java.time.Duration;
import picocli.CommandLine;

/**
 * Runs a picocli command the same way in every Trellis jar: durations parse as {@code 5s}/{@code 250ms},
 * bad input names the option and the value and exits 2, failures exit 1.
 */
public final class Cli {
    /** Exit code for usage errors and commands that are not available. */
    public static final int USAGE = 2;

    private Cli() {}

    /** Builds the command line with Trellis' converters and exit-code mapping. */
    public static CommandLine commandLine(Object command) {
        CommandLine cl = new CommandLine(command);
        cl.registerConverter(Duration.class, Cli::duration);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? USAGE : 1);
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("trellis: " + ex.getMessage());
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, c.getErr())) {
                c.getErr().println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for more information.");
            }
            return USAGE;
        });
        return cl;
    }

    /** Runs {@code command} with {@code args} and exits the JVM with its exit code. */
    public static void main(Object command, String... args) {
        int code = commandLine(command).execute(args);
        System.exit(code);
    }

    private static Duration duration(String text) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(
                    "'" + text + "' (expected: a duration such as 250ms, 5s, 1m30s or 24h)");
        }
    }

    /** Port option converter: {@code 0..65535}, 0 meaning any free port. */
    public static final class PortConverter implements CommandLine.ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int port;
            try {
                port = Integer.parseInt(value.trim());
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' (expected: a port number 0..65535)");
            }
            if (port < 0 || port > 65535) {
                throw new CommandLine.TypeConversionException("'" + value + "' (expected: a port number 0..65535)");
            }
            return port;
        }
    }

    /** {@code HOST:PORT} option converter that checks both parts. */
    public static final class HostPortConverter implements CommandLine.ITypeConverter<HostPort> {
        @Override
        public HostPort convert(String value) {
            try {
                return HostPort.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
