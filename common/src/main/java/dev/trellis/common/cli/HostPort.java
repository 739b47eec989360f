package dev.trellis.common.cli;

/** A {@code host:port} pair as given on a command line ({@code [::1]:15012} for IPv6). */
public record HostPort(String host, int port) {
    public HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host: '" + host + "' (expected: a host name or address)");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
        }
    }

    /** Parses {@code host:port}; the message names the text and what was expected. */
    public static HostPort parse(String text) {
        String expected = "'" + text + "' (expected: HOST:PORT, such as 127.0.0.1:15012)";
        if (text == null) {
            throw new IllegalArgumentException(expected);
        }
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException(expected);
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(expected);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(expected);
        }
        return new HostPort(host, port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
