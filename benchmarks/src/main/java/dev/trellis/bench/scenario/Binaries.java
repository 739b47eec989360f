package dev.trellis.bench.scenario;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Finds programs on {@code PATH} and in the {@code sbin} folders where Debian puts daemons. */
@FunctionalInterface
public interface Binaries {

    Optional<Path> find(String name);

    /** Looks in {@code $PATH}, then {@code /usr/local/sbin}, {@code /usr/sbin}, {@code /sbin}. */
    static Binaries system() {
        return name -> {
            List<String> dirs = new ArrayList<>();
            String path = System.getenv("PATH");
            if (path != null) {
                dirs.addAll(List.of(path.split(File.pathSeparator)));
            }
            dirs.addAll(List.of("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin"));
            for (String d : dirs) {
                if (d.isEmpty()) {
                    continue;
                }
                Path p = Path.of(d, name);
                if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
            return Optional.empty();
        };
    }
}
