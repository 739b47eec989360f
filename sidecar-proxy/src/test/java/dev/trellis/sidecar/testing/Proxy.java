package dev.trellis.sidecar.testing;

import dev.trellis.sidecar.Sidecar;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/** A real sidecar started from a bootstrap file written under target/. */
public final class Proxy implements AutoCloseable {
    public final Path file;
    public final Sidecar sidecar;

    private Proxy(Path file, Sidecar sidecar) {
        this.file = file;
        this.sidecar = sidecar;
    }

    public static Proxy start(String bootstrap) {
        return start(bootstrap, dev.trellis.sidecar.observe.AccessLogWriter.DEFAULT_CAPACITY);
    }

    /** A sidecar whose access log writers queue at most {@code accessLogQueue} lines. */
    public static Proxy start(String bootstrap, int accessLogQueue) {
        try {
            Path dir = Files.createDirectories(Path.of("target", "bootstraps"));
            Path f = Files.createTempFile(dir, "bootstrap", ".yaml");
            Files.writeString(f, bootstrap);
            return new Proxy(f, Sidecar.start(() -> BootstrapLoader.load(f), 2, accessLogQueue));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public void rewrite(String bootstrap) {
        try {
            Files.writeString(file, bootstrap);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port(String listener) {
        return sidecar.listenerAddress(listener).getPort();
    }

    public URI uri(String listener, String path) {
        return URI.create("http://127.0.0.1:" + port(listener) + path);
    }

    public URI admin(String path) {
        return URI.create("http://127.0.0.1:" + sidecar.adminAddress().getPort() + path);
    }

    @Override
    public void close() {
        sidecar.close();
    }
}
