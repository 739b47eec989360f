package dev.trellis.sidecar.demo;

import java.nio.file.Path;

/** The demo's mesh policy: resilience for both services, who may call whom, and the edge gateway. */
final class DemoPolicy {
    static final String GATEWAY = "edge";
    static final String ISSUER = "https://demo.trellis.local";
    static final String AUDIENCE = "trellis-demo";
    /** user-service's gRPC service and its proto (under demo-services/user-service/src/main/proto). */
    static final String USER_GRPC_SERVICE = "trellis.demo.user.v1.UserService";
    static final String USER_PROTO = "trellis/demo/user/v1/user_service.proto";

    private DemoPolicy() {}

    static String yaml(int gatewayPort, Path jwks, Path edgeCert, Path edgeKey) {
        return """
                # Written by trellis demo on every start; edit and re-apply with ./trellis policy apply -f
                apiVersion: trellis.dev/v1
                kind: Service
                name: user-service
                spec:
                  protocol: http
                  timeout: 5s
                  connectTimeout: 1s
                  retries:
                    attempts: 2
                    # safe to retry also for POST: the request never reached an app that could act on it
                    retryOn: [connect-failure, refused-stream, gateway-error]
                    perTryTimeout: 2s
                    backoffBase: 25ms
                    backoffMax: 250ms
                ---
                apiVersion: trellis.dev/v1
                kind: Service
                name: notification-service
                spec:
                  protocol: http
                  timeout: 5s
                  connectTimeout: 1s
                  retries: {attempts: 2, retryOn: [connect-failure, refused-stream, gateway-error], perTryTimeout: 2s}
                ---
                apiVersion: trellis.dev/v1
                kind: AccessPolicy
                name: user-service
                spec:
                  default: deny
                  rules:
                    - {action: allow, from: [%1$s]}
                ---
                apiVersion: trellis.dev/v1
                kind: AccessPolicy
                name: notification-service
                spec:
                  default: deny
                  rules:
                    - {action: allow, from: [user-service], methods: [POST], paths: [/events]}
                ---
                apiVersion: trellis.dev/v1
                kind: Gateway
                name: %1$s
                spec:
                  port: %2$d
                  tls: {certFile: "%6$s", keyFile: "%7$s"}
                  routes:
                    - {pathPrefix: /api/users, service: user-service, rewritePrefix: /users, timeout: 5s, requireJwt: true}
                    # gRPC over HTTPS (h2): the service's own path, kept as is; HTTP/2 all the way to the app's gRPC port
                    - {pathPrefix: /%8$s/, service: user-service, timeout: 5s, requireJwt: true}
                  jwt: {issuer: "%3$s", audiences: [%4$s], jwksFile: "%5$s"}
                  rateLimit: {requestsPerSecond: 500, burst: 1000}
                """.formatted(GATEWAY, gatewayPort, ISSUER, AUDIENCE, jwks.toAbsolutePath(),
                        edgeCert.toAbsolutePath(), edgeKey.toAbsolutePath(), USER_GRPC_SERVICE);
    }
}
