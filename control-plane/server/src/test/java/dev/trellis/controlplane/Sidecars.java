package dev.trellis.controlplane;

import dev.trellis.controlplane.api.v1.Deregister;
import dev.trellis.controlplane.api.v1.HealthReport;
import dev.trellis.controlplane.api.v1.HealthStatus;
import dev.trellis.controlplane.api.v1.Instance;
import dev.trellis.controlplane.api.v1.RegistrationGrpc;
import dev.trellis.controlplane.api.v1.RegistrationRequest;
import dev.trellis.controlplane.api.v1.RegistrationResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A registration call as a sidecar makes it, driven by hand. */
final class Sidecars {
    private Sidecars() {}

    static final class Registration {
        final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        private final ClientCallStreamObserver<RegistrationRequest>[] call;

        @SuppressWarnings("unchecked")
        Registration(ManagedChannel channel) {
            call = new ClientCallStreamObserver[1];
            RegistrationGrpc.newStub(channel).register(new ClientResponseObserver<RegistrationRequest, RegistrationResponse>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<RegistrationRequest> requestStream) {
                    call[0] = requestStream;
                }

                @Override
                public void onNext(RegistrationResponse value) {
                    events.add(value);
                }

                @Override
                public void onError(Throwable t) {
                    events.add(t);
                }

                @Override
                public void onCompleted() {
                    events.add("completed");
                }
            });
        }

        Registration register(String service, String id, int port) {
            return register(Instance.newBuilder().setService(service).setInstanceId(id).setAddress("127.0.0.1")
                    .setInboundPort(port).setProtocol("http").putLabels("version", "v1").build());
        }

        Registration register(Instance instance) {
            send(RegistrationRequest.newBuilder().setRegister(instance).build());
            return this;
        }

        Registration health(HealthStatus s) {
            send(RegistrationRequest.newBuilder().setHealth(HealthReport.newBuilder().setStatus(s)).build());
            return this;
        }

        Registration deregister(java.time.Duration bound) {
            send(RegistrationRequest.newBuilder().setDeregister(Deregister.newBuilder()
                    .setAckTimeout(com.google.protobuf.util.Durations.fromMillis(bound.toMillis()))).build());
            return this;
        }

        synchronized void send(RegistrationRequest r) {
            call[0].onNext(r);
        }

        /** Breaks the call as a crashed sidecar would. */
        void kill() {
            call[0].cancel("killed", null);
        }

        Object next() throws InterruptedException {
            Object o = events.poll(10, TimeUnit.SECONDS);
            if (o == null) throw new AssertionError("no registration event within 10 s");
            return o;
        }
    }
}
