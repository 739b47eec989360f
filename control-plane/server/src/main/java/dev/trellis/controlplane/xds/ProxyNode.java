package dev.trellis.controlplane.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.ArrayList;
import java.util.List;

/**
 * Who an xDS client is, read from its {@code Node}: a Trellis sidecar
 * ({@code sidecar~<service>~<instance>}), a gateway ({@code gateway~<name>~<instance>}) or any
 * other id, which is served as a proxyless gRPC client. Node metadata may add
 * {@code TRELLIS_UPSTREAMS} (list or comma-separated string), {@code TRELLIS_OUTBOUND_PORT},
 * {@code TRELLIS_INBOUND_PORT} and {@code TRELLIS_APP_PORT}.
 */
public record ProxyNode(String id, Type type, String service, String instanceId, List<String> upstreams,
                        int outboundPort, int inboundPort, int appPort) {
    public static final int DEFAULT_OUTBOUND_PORT = 15001;
    public static final int DEFAULT_INBOUND_PORT = 15006;

    public enum Type { SIDECAR, GATEWAY, PROXYLESS }

    public static ProxyNode of(Node node) {
        String id = node.getId();
        String[] parts = id.split("~", 3);
        Type type = Type.PROXYLESS;
        String service = "";
        String instance = "";
        if (parts.length == 3 && (parts[0].equals("sidecar") || parts[0].equals("gateway"))) {
            type = parts[0].equals("sidecar") ? Type.SIDECAR : Type.GATEWAY;
            service = parts[1];
            instance = parts[2];
        }
        Struct md = node.getMetadata();
        List<String> upstreams = new ArrayList<>();
        Value u = md.getFieldsOrDefault("TRELLIS_UPSTREAMS", null);
        if (u != null) {
            if (u.hasListValue()) {
                u.getListValue().getValuesList().forEach(v -> upstreams.add(v.getStringValue().trim()));
            } else {
                for (String s : u.getStringValue().split(",")) if (!s.isBlank()) upstreams.add(s.trim());
            }
        }
        return new ProxyNode(id, type, service, instance, List.copyOf(upstreams),
                port(md, "TRELLIS_OUTBOUND_PORT", DEFAULT_OUTBOUND_PORT),
                port(md, "TRELLIS_INBOUND_PORT", DEFAULT_INBOUND_PORT),
                port(md, "TRELLIS_APP_PORT", 0));
    }

    private static int port(Struct md, String key, int dflt) {
        Value v = md.getFieldsOrDefault(key, null);
        if (v == null) return dflt;
        try {
            int p = v.hasNumberValue() ? (int) v.getNumberValue() : Integer.parseInt(v.getStringValue().trim());
            return p >= 0 && p <= 65535 ? p : dflt;
        } catch (NumberFormatException e) {
            return dflt;
        }
    }
}
