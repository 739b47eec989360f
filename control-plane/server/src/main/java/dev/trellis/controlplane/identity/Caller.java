package dev.trellis.controlplane.identity;

import io.grpc.Context;
import java.math.BigInteger;
import java.util.Optional;

/**
 * Who called the control plane's gRPC port, as {@link AuthInterceptor} established it: a service
 * proven by a workload certificate or a join token, or nobody (with the reason).
 *
 * @param service the proven service, if any
 * @param via how it was proven
 * @param refusal why presented credentials were refused (empty when none were presented or they were good)
 * @param certificateSerial the serial of the workload certificate presented, if any
 */
public record Caller(Optional<String> service, Via via, String refusal, Optional<BigInteger> certificateSerial) {
    /** How the caller proved its service. */
    public enum Via { CERTIFICATE, JOIN_TOKEN, NONE }

    public static final Context.Key<Caller> KEY = Context.key("trellis-caller");
    static final Caller ANONYMOUS = new Caller(Optional.empty(), Via.NONE, "", Optional.empty());

    /** The caller of the current gRPC call. */
    public static Caller current() {
        Caller c = KEY.get();
        return c == null ? ANONYMOUS : c;
    }
}
