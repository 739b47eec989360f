package dev.trellis.sidecar.error;

import java.util.EnumSet;
import java.util.Set;

/**
 * What happened to one request: the record metrics and access logs consume when the stream ends.
 * Owned by the stream's event loop; read after completion.
 */
public final class StreamInfo {
    private final long startNanos;
    private final EnumSet<ResponseFlag> flags = EnumSet.noneOf(ResponseFlag.class);
    private long endNanos;
    private long bytesReceived;
    private long bytesSent;
    private String upstreamHost = "-";
    private String cluster = "-";
    private String route = "-";
    private String listener = "-";
    private String requestId = "-";
    private String method = "-";
    private String path = "-";
    private String authority = "-";
    private String protocol = "-";
    private String detail = "-";
    private int attempts;
    private int responseCode;
    private boolean grpc;
    private String grpcStatus = "-";
    private String sourceIdentity = "-";
    private String traceId = "-";
    private String spanId = "-";
    private Object telemetry;
    private String clientAddress;

    public StreamInfo(long startNanos) {
        this.startNanos = startNanos;
    }

    public long startNanos() { return startNanos; }
    public long durationNanos() { return endNanos == 0 ? 0 : endNanos - startNanos; }
    public void end(long nanos) { if (endNanos == 0) { endNanos = nanos; } }
    public boolean ended() { return endNanos != 0; }
    public Set<ResponseFlag> flags() { return flags; }
    public void addFlag(ResponseFlag f) { flags.add(f); }
    public long bytesReceived() { return bytesReceived; }
    public void addBytesReceived(long n) { bytesReceived += n; }
    public long bytesSent() { return bytesSent; }
    public void addBytesSent(long n) { bytesSent += n; }
    public String upstreamHost() { return upstreamHost; }
    public void upstreamHost(String h) { upstreamHost = h; }
    public String cluster() { return cluster; }
    public void cluster(String c) { cluster = c; }
    public String route() { return route; }
    public void route(String r) { route = r; }
    public String listener() { return listener; }
    public void listener(String l) { listener = l; }
    public String requestId() { return requestId; }
    public void requestId(String id) { requestId = id; }
    public String method() { return method; }
    public String path() { return path; }
    public String authority() { return authority; }
    public void request(String method, String path, String authority) {
        this.method = method;
        this.path = path;
        this.authority = authority;
    }
    public String protocol() { return protocol; }
    public void protocol(String p) { protocol = p; }
    public String detail() { return detail; }
    public void detail(String d) { detail = d; }
    public int attempts() { return attempts; }
    public void attempt() { attempts++; }
    public int responseCode() { return responseCode; }
    public void responseCode(int code) { responseCode = code; }
    public boolean grpc() { return grpc; }
    public void grpc(boolean g) { grpc = g; }
    /** The response's {@code grpc-status} ({@code -} when it had none). */
    public String grpcStatus() { return grpcStatus; }
    public void grpcStatus(String s) { grpcStatus = s; }
    /** The downstream peer's verified identity (SPIFFE ID), {@code -} when unknown. */
    public String sourceIdentity() { return sourceIdentity; }
    public void sourceIdentity(String id) { sourceIdentity = id; }
    /** The trace this request belongs to ({@code -} when not traced). */
    public String traceId() { return traceId; }
    public String spanId() { return spanId; }
    public void trace(String traceId, String spanId) {
        this.traceId = traceId;
        this.spanId = spanId;
    }
    /** Per-stream state of the listener's {@link StreamObserver} (its server span). */
    public Object telemetry() { return telemetry; }
    public void telemetry(Object t) { telemetry = t; }
    /** The trusted client address (after {@code xff_num_trusted_hops}), or {@code null} before it is known. */
    public String clientAddress() { return clientAddress; }
    public void clientAddress(String a) { clientAddress = a; }

    @Override
    public String toString() {
        return method + " " + authority + path + " " + responseCode + " " + ResponseFlag.render(flags)
                + " cluster=" + cluster + " upstream=" + upstreamHost + " attempts=" + attempts
                + " in=" + bytesReceived + " out=" + bytesSent + " detail=" + detail;
    }
}
