package dev.trellis.demo.user.grpc;

import dev.trellis.demo.user.grpc.v1.CreateUserRequest;
import dev.trellis.demo.user.grpc.v1.GetUserRequest;
import dev.trellis.demo.user.grpc.v1.UserServiceGrpc;
import dev.trellis.demo.user.service.UserService;
import dev.trellis.demo.user.store.User;
import dev.trellis.demo.user.web.ApiException;
import dev.trellis.demo.user.web.TraceHeaders;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The gRPC face of {@link UserService}: the same users, validation and cache as the REST API. */
public final class UserGrpcService extends UserServiceGrpc.UserServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(UserGrpcService.class);
    private static final Logger accessLog = LoggerFactory.getLogger("access");

    private final UserService users;

    public UserGrpcService(UserService users) {
        this.users = users;
    }

    @Override
    public void getUser(GetUserRequest request, StreamObserver<dev.trellis.demo.user.grpc.v1.User> response) {
        call("GetUser", response, () -> users.get(request.getId()).user()
                .orElseThrow(() -> UserService.notFound(request.getId())));
    }

    @Override
    public void createUser(CreateUserRequest request, StreamObserver<dev.trellis.demo.user.grpc.v1.User> response) {
        call("CreateUser", response, () -> users.create(request.getName(), request.getEmail(), trace()));
    }

    @FunctionalInterface
    private interface Body {
        User run() throws Exception;
    }

    private static TraceHeaders trace() {
        TraceHeaders trace = TraceContextInterceptor.TRACE.get();
        return trace != null ? trace : TraceHeaders.from(name -> null);
    }

    private static void call(String method, StreamObserver<dev.trellis.demo.user.grpc.v1.User> response, Body body) {
        trace().putMdc();
        try {
            response.onNext(toProto(body.run()));
            response.onCompleted();
            accessLog.info("grpc {} OK", method);
        } catch (ApiException e) {
            response.onError(toStatus(e).asRuntimeException());
            accessLog.info("grpc {} {}", method, toStatus(e).getCode());
        } catch (Exception e) {
            log.error("grpc {} failed", method, e);
            response.onError(Status.INTERNAL.withDescription("internal error: " + e.getClass().getSimpleName())
                    .asRuntimeException());
        } finally {
            TraceHeaders.clearMdc();
        }
    }

    private static Status toStatus(ApiException e) {
        Status status = switch (e.status()) {
            case 400 -> Status.INVALID_ARGUMENT;
            case 404 -> Status.NOT_FOUND;
            case 409 -> Status.ABORTED;
            case 503 -> Status.UNAVAILABLE;
            default -> Status.INTERNAL;
        };
        String fields = e.fields().stream().map(f -> f.field() + ": " + f.message()).collect(Collectors.joining("; "));
        return status.withDescription(fields.isEmpty() ? e.getMessage() : e.getMessage() + ": " + fields);
    }

    static dev.trellis.demo.user.grpc.v1.User toProto(User u) {
        return dev.trellis.demo.user.grpc.v1.User.newBuilder()
                .setId(u.id())
                .setName(u.name())
                .setEmail(u.email())
                .setVersion(u.version())
                .setCreatedAt(u.createdAt().toString())
                .setUpdatedAt(u.updatedAt().toString())
                .build();
    }
}
