package dev.trellis.sidecar.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;

/** The four xDS v3 resource types a sidecar subscribes to, in the order Envoy asks for them. */
public enum XdsType {
    CDS("type.googleapis.com/envoy.config.cluster.v3.Cluster", Cluster.class),
    EDS("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", ClusterLoadAssignment.class),
    LDS("type.googleapis.com/envoy.config.listener.v3.Listener", Listener.class),
    RDS("type.googleapis.com/envoy.config.route.v3.RouteConfiguration", RouteConfiguration.class);

    private final String typeUrl;
    private final Class<? extends Message> type;

    XdsType(String typeUrl, Class<? extends Message> type) {
        this.typeUrl = typeUrl;
        this.type = type;
    }

    public String typeUrl() {
        return typeUrl;
    }

    /** The type of {@code typeUrl}, or null for one a sidecar does not subscribe to. */
    public static XdsType of(String typeUrl) {
        for (XdsType t : values()) {
            if (t.typeUrl.equals(typeUrl)) {
                return t;
            }
        }
        return null;
    }

    /** True for the types whose subscription names come from other resources (RDS, EDS). */
    public boolean named() {
        return this == RDS || this == EDS;
    }

    Message unpack(Any any) throws InvalidProtocolBufferException {
        if (!any.getTypeUrl().equals(typeUrl)) {
            throw new InvalidProtocolBufferException("resource of type '" + any.getTypeUrl() + "' in a "
                    + name() + " response (expected: " + typeUrl + ")");
        }
        return any.unpack(type);
    }

    /** The name a resource of this type is known by. */
    static String nameOf(Message m) {
        if (m instanceof Listener l) return l.getName();
        if (m instanceof RouteConfiguration r) return r.getName();
        if (m instanceof Cluster c) return c.getName();
        if (m instanceof ClusterLoadAssignment a) return a.getClusterName();
        throw new IllegalArgumentException(m.getClass().getName());
    }
}
