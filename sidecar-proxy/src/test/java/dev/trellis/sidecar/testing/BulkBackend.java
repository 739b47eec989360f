package dev.trellis.sidecar.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A plain-socket HTTP/1.1 backend for bulk transfers, fast enough that a 1 GiB test measures the
 * proxy and not the backend: {@code GET /bytes?n=N} answers N zero bytes with a Content-Length,
 * {@code POST /sink} reads a Content-Length body and answers how many bytes arrived.
 */
public final class BulkBackend implements AutoCloseable {
    private static final int BUF = 1024 * 1024;
    private final ServerSocket server;

    public BulkBackend() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread c = new Thread(() -> serve(s), "bulk-backend-conn");
                    c.setDaemon(true);
                    c.start();
                } catch (IOException e) {
                    // closed
                }
            }
        }, "bulk-backend");
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    private static void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[BUF];
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String target = head.substring(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
                long length = contentLength(head);
                long got = drain(in, length, buf);
                if (target.startsWith("/bytes?n=")) {
                    long n = Long.parseLong(target.substring("/bytes?n=".length()));
                    out.write(("HTTP/1.1 200 OK\r\ncontent-length: " + n + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    while (n > 0) {
                        int k = (int) Math.min(buf.length, n);
                        out.write(buf, 0, k);
                        n -= k;
                    }
                } else {
                    byte[] b = Long.toString(got).getBytes(StandardCharsets.US_ASCII);
                    out.write(("HTTP/1.1 200 OK\r\ncontent-length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(b);
                }
                out.flush();
            }
        } catch (IOException e) {
            // the proxy closed the connection
        }
    }

    /** The request or response head up to the empty line, or null at end of stream. */
    public static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            head.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    public static long contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return 0;
    }

    /** Reads and discards {@code n} bytes; returns how many arrived. */
    public static long drain(InputStream in, long n, byte[] buf) throws IOException {
        long got = 0;
        while (got < n) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n - got));
            if (r < 0) {
                break;
            }
            got += r;
        }
        return got;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
