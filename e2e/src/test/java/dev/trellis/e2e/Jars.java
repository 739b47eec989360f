package dev.trellis.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The runnable jars the build made (the launcher's list), and their commands' options as {@code --help} prints them. */
final class Jars {
    static final Path ROOT = Path.of(System.getProperty("trellis.root", "..")).toAbsolutePath().normalize();
    static final Path CONTROL_PLANE = jar("control-plane/server/target/trellis-control-plane.jar");
    static final Path SIDECAR = jar("sidecar-proxy/target/trellis-sidecar.jar");
    static final Path USER_SERVICE = jar("demo-services/user-service/target/user-service.jar");
    static final Path NOTIFICATION_SERVICE = jar("demo-services/notification-service/target/notification-service.jar");

    private Jars() {}

    private static Path jar(String relative) {
        return ROOT.resolve(relative);
    }

    static Path existing(Path jar) {
        assertThat(jar).as("runnable jar (build it first: mvn -B -DskipTests package)").exists();
        return jar;
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** A command's options: name to its help block, from {@code java -jar JAR [COMMAND] --help}. */
    static Map<String, String> options(Path jar, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-jar", existing(jar).toString()));
        cmd.addAll(List.of(command));
        cmd.add("--help");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String help = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", command) + " --help:\n" + help).isZero();
        Map<String, String> options = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^\\s{2,}(?:-\\w, )?(--[a-z][a-z0-9-]*)").matcher(help);
        List<int[]> starts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (m.find()) {
            starts.add(new int[] {m.start()});
            names.add(m.group(1));
        }
        for (int i = 0; i < names.size(); i++) {
            int end = i + 1 < names.size() ? starts.get(i + 1)[0] : help.length();
            options.put(names.get(i), help.substring(starts.get(i)[0], end).replaceAll("\\s+", " "));
        }
        return options;
    }

    /** The integer default a help block states ({@code (default: 15000)} or {@code default 8080}). */
    static Optional<Integer> intDefault(Map<String, String> options, String option) {
        String block = options.get(option);
        assertThat(block).as("option " + option).isNotNull();
        Matcher m = Pattern.compile("default:? (\\d+)").matcher(block);
        return m.find() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    }

    static String read(Path p) throws IOException {
        return Files.readString(p);
    }
}
