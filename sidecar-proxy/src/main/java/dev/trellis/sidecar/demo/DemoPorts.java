package dev.trellis.sidecar.demo;

/**
 * Every port of the demo. The control plane and the gateway keep their usual ports; the services and
 * their sidecars take fixed offsets from {@code base}, so the printed commands stay the same run after run.
 */
record DemoPorts(int controlPlane, int controlPlaneAdmin, int gateway, int base) {
    static final int USER_INSTANCES = 2;

    DemoPorts {
        for (int p : new int[] {controlPlane, controlPlaneAdmin, gateway}) {
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("port " + p + " (expected: 1..65535)");
            }
        }
        if (base < 1024 || base > 65535 - 100) {
            throw new IllegalArgumentException("--port-base " + base + " (expected: 1024.." + (65535 - 100) + ")");
        }
    }

    /** user-service instance {@code i} (1-based): REST port of the app. */
    int userHttp(int i) {
        return base + 80 + i;
    }

    int userGrpc(int i) {
        return base + 90 + i;
    }

    int notificationHttp() {
        return base + 85;
    }

    /** Sidecar ports by slot: user-service instances 1..2, notification-service 3. */
    int sidecarAdmin(int slot) {
        return base + slot;
    }

    int sidecarInbound(int slot) {
        return base + 10 + slot;
    }

    int sidecarOutbound(int slot) {
        return base + 20 + slot;
    }

    /** The local port on which sidecar {@code slot} serves its upstream. */
    int upstreamPort(int slot) {
        return base + 30 + slot;
    }

    int gatewayAdmin() {
        return base + 4;
    }

    int notificationSlot() {
        return USER_INSTANCES + 1;
    }
}
