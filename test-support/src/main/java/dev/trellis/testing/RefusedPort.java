package dev.trellis.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * A loopback port where connections are refused, for as long as this is open: a socket bound to it
 * but not listening. A port taken from a closed {@code ServerSocket} is not that: another test's
 * server may be given it in between, and the "dead" host then answers.
 */
public final class RefusedPort implements AutoCloseable {
    private final Socket socket = new Socket();

    public RefusedPort() {
        try {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
