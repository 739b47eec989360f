package dev.trellis.controlplane.policy;

import java.time.Instant;
import java.util.List;

/**
 * One accepted state of the mesh policy: every document at {@code revision}, with what changed.
 *
 * @param source who made the change: {@code api}, {@code dir}, {@code rollback to N}, {@code startup}
 * @param changes short lines such as {@code + Service/echo}, {@code ~ Route/canary}, {@code - Gateway/edge}
 */
public record PolicyRevision(long revision, Instant time, String source, List<String> changes,
                             List<PolicyDocument> documents, MeshPolicy policy) {}
