package dev.trellis.controlplane.xds;

import java.time.Instant;
import java.util.Map;

/**
 * One connected xDS stream as {@code GET /api/v1/proxies} and {@code trellis status} show it.
 *
 * @param state SYNCED (every response ACKed), STALE (a response not yet ACKed) or NACKED (the
 *              last response of some type was rejected; the proxy runs on its previous config)
 */
public record ProxyStatus(String nodeId, String type, String service, String instanceId, long streamId,
                          Instant connectedSince, Map<String, TypeStatus> resources, State state) {

    public enum State { SYNCED, STALE, NACKED }

    /**
     * Per resource type (LDS, RDS, CDS, EDS): last version sent, last version ACKed, and the last
     * NACK (version rejected, error message, time) if the latest response of the type was rejected.
     */
    public record TypeStatus(String sent, Instant sentAt, String acked, Instant ackedAt,
                             String nackedVersion, String nackError, Instant nackedAt) {}
}
