package dev.trellis.demo.user.grpc;

import dev.trellis.demo.user.web.TraceHeaders;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/** Reads the request id and trace headers of a gRPC call into the call's {@link Context}. */
public final class TraceContextInterceptor implements ServerInterceptor {
    /** The trace headers of the current call. */
    public static final Context.Key<TraceHeaders> TRACE = Context.key("trellis-demo-trace-headers");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        TraceHeaders trace = TraceHeaders.from(name -> headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER)));
        return Contexts.interceptCall(Context.current().withValue(TRACE, trace), call, headers, next);
    }
}
