package dev.trellis.sidecar.config;

/**
 * How the connection manager normalises {@code :path} before filters and routing (Envoy's
 * {@code normalize_path}, {@code merge_slashes} and {@code path_with_escaped_slashes_action}), so
 * that authorization, routing and the upstream all see one path.
 */
public record PathNormalization(boolean normalize, boolean mergeSlashes, EscapedSlashes escapedSlashes) {
    /** Trellis's default: everything resolved (Istio's {@code DECODE_AND_MERGE_SLASHES}). */
    public static final PathNormalization DEFAULT = new PathNormalization(true, true, EscapedSlashes.UNESCAPE_AND_FORWARD);
    /** Envoy's defaults, for OUTBOUND listeners: only the fragment is dropped and NUL refused. */
    public static final PathNormalization OUTBOUND_DEFAULT = new PathNormalization(false, false, EscapedSlashes.KEEP_UNCHANGED);

    /** Envoy's {@code path_with_escaped_slashes_action} for {@code %2F} and {@code %5C}. */
    public enum EscapedSlashes { KEEP_UNCHANGED, REJECT_REQUEST, UNESCAPE_AND_FORWARD }
}
