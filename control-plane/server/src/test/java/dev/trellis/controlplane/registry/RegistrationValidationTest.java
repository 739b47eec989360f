package dev.trellis.controlplane.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.controlplane.api.v1.Instance;
import org.junit.jupiter.api.Test;

class RegistrationValidationTest {
    private static Instance.Builder instance() {
        return Instance.newBuilder().setService("users").setInstanceId("u1").setAddress("10.0.0.1")
                .setInboundPort(15006).setAppPort(8080);
    }

    @Test
    void anAppGrpcPortNextToTheAppPortIsAccepted() {
        assertThat(RegistrationService.invalid(instance().setAppGrpcPort(9090).build())).isNull();
        assertThat(RegistrationService.invalid(instance().build())).isNull();
    }

    @Test
    void aBadAppGrpcPortIsRefusedNamingTheField() {
        assertThat(RegistrationService.invalid(instance().setAppGrpcPort(70_000).build()))
                .isEqualTo("instance.app_grpc_port: 70000 (expected: 0..65535)");
        assertThat(RegistrationService.invalid(instance().setAppGrpcPort(8080).build()))
                .isEqualTo("instance.app_grpc_port: 8080 (expected: a port other than app_port)");
        assertThat(RegistrationService.invalid(instance().setAppPort(0).setAppGrpcPort(9090).build()))
                .isEqualTo("instance.app_grpc_port: 9090 (expected: 0 without an app_port)");
        assertThat(RegistrationService.invalid(instance().setProtocol("tcp").setAppGrpcPort(9090).build()))
                .isEqualTo("instance.app_grpc_port: 9090 (expected: 0 for protocol tcp)");
    }
}
