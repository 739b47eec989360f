package dev.trellis.sidecar.testing;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Bootstrap snippets as YAML flow style (JSON with single quotes), so tests need no indentation. */
public final class Boot {
    private Boot() {}

    /** Replaces single quotes with double quotes. */
    public static String j(String s) {
        return s.replace('\'', '"');
    }

    public static String bootstrap(String listeners, String clusters) {
        return j("{'admin': {'address': {'socket_address': {'address': '127.0.0.1', 'port_value': 0}}},"
                + "'node': {'id': 'test', 'cluster': 'test'},"
                + "'static_resources': {'listeners': [" + listeners + "], 'clusters': [" + clusters + "]}}");
    }

    public static String listener(String name, String hcmExtra, String virtualHosts) {
        return listener(name, hcmExtra, virtualHosts, null);
    }

    public static String listener(String name, String hcmExtra, String virtualHosts, String transportSocket) {
        return j("{'name': '" + name + "', 'address': {'socket_address': {'address': '127.0.0.1', 'port_value': 0}},"
                + "'filter_chains': [{" + (transportSocket == null ? "" : "'transport_socket': " + transportSocket + ",")
                + "'filters': [{'name': 'envoy.filters.network.http_connection_manager', 'typed_config': {"
                + "'@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',"
                + "'stat_prefix': '" + name + "'," + (hcmExtra.isEmpty() ? "" : hcmExtra + ",")
                + "'route_config': {'name': 'r', 'virtual_hosts': [" + virtualHosts + "]},"
                + "'http_filters': [{'name': 'envoy.filters.http.router', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'}}]"
                + "}}]}]}");
    }

    /** {@code listener} with {@code filters} (JSON objects) before its router. */
    public static String withFilters(String listener, String... filters) {
        if (filters.length == 0) {
            return listener;
        }
        String marker = j("'http_filters': [");
        return listener.replace(marker, marker + String.join(",", filters) + ",");
    }

    /**
     * An {@code envoy.filters.http.rbac} filter with {@code action} and {@code policies} (a JSON
     * object of named policies), or without rules when {@code action} is null.
     */
    public static String rbac(String action, String policies) {
        return j("{'name': 'envoy.filters.http.rbac', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC'"
                + (action == null ? "" : ", 'rules': {'action': '" + action + "', 'policies': " + policies + "}") + "}}");
    }

    /**
     * PERMISSIVE as Istio writes it: a tls_inspector and two filter chains matched by
     * transport_protocol, the TLS one from {@code tlsListener} and the plaintext one from
     * {@code plainListener} (both made by {@link #listener}).
     */
    public static String permissive(String tlsListener, String plainListener) {
        String marker = j("'filter_chains': [");
        int a = tlsListener.indexOf(marker) + marker.length();
        int b = plainListener.indexOf(marker) + marker.length();
        String tlsChain = "{" + j("'filter_chain_match': {'transport_protocol': 'tls'}, ") + tlsListener.substring(a + 1, tlsListener.length() - 2);
        String rawChain = "{" + j("'filter_chain_match': {'transport_protocol': 'raw_buffer'}, ") + plainListener.substring(b + 1, plainListener.length() - 2);
        return tlsListener.substring(0, a - marker.length())
                + j("'listener_filters': [{'name': 'envoy.filters.listener.tls_inspector', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'}}], ")
                + marker + tlsChain + "," + rawChain + "]}";
    }

    /** A listener whose chain is {@code filters} (JSON list items) and then the router. */
    public static String listenerWithFilters(String name, String hcmExtra, String virtualHosts, String filters,
                                             String transportSocket) {
        String router = "{'name': 'envoy.filters.http.router', 'typed_config': {'@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router'}}";
        return listener(name, hcmExtra, virtualHosts, transportSocket)
                .replace(j("'http_filters': [" + router + "]"), j("'http_filters': [" + filters + (filters.isEmpty() ? "" : ",") + router + "]"));
    }

    /** A {@code typed_config} object of an Envoy type (short name after {@code type.googleapis.com/}). */
    public static String typed(String type, String body) {
        return j("{'@type': 'type.googleapis.com/" + type + "'" + (body.isEmpty() ? "" : ", " + body) + "}");
    }

    /** A catch-all virtual host with the given routes. */
    public static String vhost(String... routes) {
        return j("{'name': 'all', 'domains': ['*'], 'routes': [" + String.join(",", routes) + "]}");
    }

    public static String route(String prefix, String cluster) {
        return j("{'match': {'prefix': '" + prefix + "'}, 'route': {'cluster': '" + cluster + "'}}");
    }

    public static String cluster(String name, String extra, int... ports) {
        String eps = Arrays.stream(ports).mapToObj(p -> "{'endpoint': {'address': {'socket_address': {'address': '127.0.0.1', 'port_value': " + p + "}}}}")
                .collect(Collectors.joining(","));
        return j("{'name': '" + name + "', 'type': 'STATIC', 'connect_timeout': '1s',"
                + (extra.isEmpty() ? "" : extra + ",")
                + "'load_assignment': {'cluster_name': '" + name + "', 'endpoints': [{'lb_endpoints': [" + eps + "]}]}}");
    }

    public static final String HTTP2 = j("'typed_extension_protocol_options': {'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': "
            + "{'@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', "
            + "'explicit_http_config': {'http2_protocol_options': {}}}}");
}
