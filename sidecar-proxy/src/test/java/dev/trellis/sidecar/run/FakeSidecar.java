package dev.trellis.sidecar.run;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CountDownLatch;

/**
 * A stand-in for the sidecar process in supervision tests (the tests are about processes, signals
 * and exit codes, not proxying): serves {@code /ready} on {@code --admin-port}, appends what
 * happens to {@code --events}, and on SIGTERM takes {@code --stop-ms} to "deregister and drain".
 * Flags: {@code --ready-after-ms}, {@code --exit-at-start CODE}, {@code --ignore-term},
 * {@code --crash-after-ms CODE:MS}.
 */
public final class FakeSidecar {
    private FakeSidecar() {}

    @SuppressWarnings("restriction")
    public static void main(String[] args) throws Exception {
        int adminPort = 0;
        long readyAfter = 0;
        long stopMs = 0;
        Path events = null;
        boolean ignoreTerm = false;
        String crash = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--admin-port" -> adminPort = Integer.parseInt(args[++i]);
                case "--ready-after-ms" -> readyAfter = Long.parseLong(args[++i]);
                case "--stop-ms" -> stopMs = Long.parseLong(args[++i]);
                case "--events" -> events = Path.of(args[++i]);
                case "--exit-at-start" -> System.exit(Integer.parseInt(args[++i]));
                case "--ignore-term" -> ignoreTerm = true;
                case "--crash-after-ms" -> crash = args[++i];
                default -> { } // the real sidecar's flags (--service, --upstream, ...) are recorded below
            }
        }
        Path ev = events;
        append(ev, "sidecar start pid=" + ProcessHandle.current().pid() + " " + String.join(" ", args));
        java.util.concurrent.atomic.AtomicBoolean firstReady = new java.util.concurrent.atomic.AtomicBoolean();
        long readyAt = System.nanoTime() + readyAfter * 1_000_000;
        HttpServer admin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), adminPort), 16);
        admin.createContext("/ready", ex -> {
            int status = System.nanoTime() - readyAt >= 0 ? 200 : 503;
            if (status == 200 && firstReady.compareAndSet(false, true)) {
                append(ev, "sidecar ready");
            }
            byte[] body = (status == 200 ? "ready" : "not ready").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        admin.start();
        CountDownLatch forever = new CountDownLatch(1);
        long stop = stopMs;
        boolean ignore = ignoreTerm;
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> {
            append(ev, "sidecar TERM");
            if (ignore) {
                return;
            }
            try {
                Thread.sleep(stop);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            admin.stop(0);
            append(ev, "sidecar exit");
            System.exit(0);
        });
        if (crash != null) {
            String[] cm = crash.split(":");
            Thread.sleep(Long.parseLong(cm[1]));
            append(ev, "sidecar crash");
            System.exit(Integer.parseInt(cm[0]));
        }
        forever.await();
    }

    static synchronized void append(Path events, String line) {
        if (events == null) {
            return;
        }
        try {
            Files.writeString(events, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
