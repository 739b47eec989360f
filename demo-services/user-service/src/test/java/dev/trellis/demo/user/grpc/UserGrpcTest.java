package dev.trellis.demo.user.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.demo.user.TestHttp;
import dev.trellis.demo.user.UserServiceApp;
import dev.trellis.demo.user.UserServiceConfig;
import dev.trellis.demo.user.grpc.v1.CreateUserRequest;
import dev.trellis.demo.user.grpc.v1.GetUserRequest;
import dev.trellis.demo.user.grpc.v1.User;
import dev.trellis.demo.user.grpc.v1.UserServiceGrpc;
import dev.trellis.demo.user.store.OutboxMessage;
import dev.trellis.demo.user.store.OutboxStore;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UserGrpcTest {
    @TempDir
    Path dir;
    UserServiceApp app;
    ManagedChannel channel;
    UserServiceGrpc.UserServiceBlockingStub stub;

    @BeforeEach
    void start() throws Exception {
        app = UserServiceApp.start(UserServiceConfig.defaults(dir), Clock.systemUTC());
        channel = NettyChannelBuilder.forAddress("127.0.0.1", app.grpcPort()).usePlaintext().build();
        stub = UserServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        app.close();
    }

    @Test
    void createThenGetOverGrpcAndRest() throws Exception {
        User created = stub.createUser(CreateUserRequest.newBuilder().setName("Barbara").setEmail("barbara@example.com").build());
        assertThat(created.getId()).hasSize(36);
        assertThat(created.getVersion()).isEqualTo(1);

        User got = stub.getUser(GetUserRequest.newBuilder().setId(created.getId()).build());
        assertThat(got).isEqualTo(created);

        TestHttp.Reply rest = new TestHttp(app.httpPort()).get("/users/" + created.getId());
        assertThat(rest.status()).isEqualTo(200);
        assertThat(rest.body().get("email").asText()).isEqualTo("barbara@example.com");
    }

    @Test
    void mapsFailuresToGrpcStatuses() {
        assertThatThrownBy(() -> stub.getUser(GetUserRequest.newBuilder().setId("nobody").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).isEqualTo("user 'nobody' not found");
                });
        assertThatThrownBy(() -> stub.createUser(CreateUserRequest.newBuilder().setName("").setEmail("x").build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).startsWith("validation failed: name: required")
                            .contains("email: 'x' (expected: an address like name@example.com)");
                });
    }

    @Test
    void traceMetadataIsKeptWithTheOutboxRowForForwarding() throws Exception {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        headers.put(Metadata.Key.of("x-request-id", Metadata.ASCII_STRING_MARSHALLER), "grpc-req-1");
        User created = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .createUser(CreateUserRequest.newBuilder().setName("Tracey").setEmail("t@example.com").build());

        List<OutboxMessage> pending = new OutboxStore(app.database()).due(Long.MAX_VALUE, true, 10);
        assertThat(pending).singleElement().satisfies(m -> {
            assertThat(m.aggregateId()).isEqualTo(created.getId());
            assertThat(m.topic()).isEqualTo("user.created");
            assertThat(m.headers()).containsEntry("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                    .containsEntry("x-request-id", "grpc-req-1");
        });
    }
}
