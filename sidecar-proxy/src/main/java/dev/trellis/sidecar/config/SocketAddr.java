package dev.trellis.sidecar.config;

/** A host (name or literal address) and a TCP port. Port 0 on a listener means any free port. */
public record SocketAddr(String host, int port) {
    public SocketAddr {
        if (host == null || host.isEmpty()) {
            throw new ConfigException("address: '" + host + "' (expected: a host name or IP address)");
        }
        if (port < 0 || port > 65535) {
            throw new ConfigException("port_value: " + port + " (expected: 0..65535)");
        }
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
