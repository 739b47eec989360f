package dev.trellis.controlplane.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyValidatorTest {
    private static MeshPolicy valid(String yaml) throws PolicyException {
        return PolicyValidator.validate(PolicyParser.parse(yaml, "test.yaml", "api"), 1);
    }

    private static List<String> errors(String yaml) {
        try {
            valid(yaml);
        } catch (PolicyException e) {
            return e.errors();
        }
        throw new AssertionError("expected errors for:\n" + yaml);
    }

    @Test
    void negativeTimeoutNamesDocumentPathAndBound() {
        assertThat(errors("kind: Service\nname: echo\nspec:\n  timeout: -5s\n"))
                .containsExactly("Service/echo: spec.timeout: -5s (expected: > 0)");
    }

    @Test
    void everyErrorOfEveryDocumentIsReported() {
        assertThat(errors("""
                kind: Service
                name: echo
                spec:
                  loadBalancer: fastest
                  retries: {attempts: 11, retryOn: [5xx, sometimes]}
                  circuitBreaker: {maxRequests: 0}
                  timeuot: 1s
                ---
                kind: Route
                name: canary
                spec:
                  service: echo
                  rules:
                    - match: {pathPrefix: api}
                      destinations: [{subset: {version: v2}, weight: 0}]
                      fault: {abort: {status: 99}}
                """)).containsExactlyInAnyOrder(
                "Service/echo: spec.loadBalancer: fastest (expected: one of peak_ewma, round_robin, least_request, random, ring_hash)",
                "Service/echo: spec.retries.attempts: 11 (expected: 0..10)",
                "Service/echo: spec.retries.retryOn[1]: sometimes (expected: one of 5xx, gateway-error, reset, connect-failure, "
                        + "envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, "
                        + "http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable)",
                "Service/echo: spec.circuitBreaker.maxRequests: 0 (expected: 1..1000000)",
                "Service/echo: spec.timeuot: unknown field (expected one of: protocol, loadBalancer, timeout, connectTimeout, "
                        + "retries, circuitBreaker, outlierDetection, healthCheck, tlsMode)",
                "Route/canary: spec.rules[0].match.pathPrefix: api (expected: a path starting with /)",
                "Route/canary: spec.rules[0].destinations: total weight 0 (expected: a total weight > 0)",
                "Route/canary: spec.rules[0].fault.abort.status: 99 (expected: 200..599)");
    }

    @Test
    void envelopeErrorsNameTheFileAndDocument() {
        assertThatThrownBy(() -> PolicyParser.parse("kind: Servise\nname: echo\n---\napiVersion: v2\nkind: Route\nname: r\n",
                "mesh.yaml", "api"))
                .isInstanceOf(PolicyException.class)
                .satisfies(e -> assertThat(((PolicyException) e).errors()).containsExactly(
                        "mesh.yaml document 1: kind: Servise (expected: one of MeshConfig, Service, Route, AccessPolicy, Gateway, ExternalService)",
                        "Route/r: apiVersion: v2 (expected: trellis.dev/v1)"));
    }

    @Test
    void defaultsAndMeshConfigApply() throws PolicyException {
        MeshPolicy p = valid("""
                apiVersion: trellis.dev/v1
                kind: MeshConfig
                name: default
                spec:
                  trustDomain: example.org
                  defaults: {timeout: 3s, loadBalancer: round_robin}
                ---
                kind: Service
                name: echo
                spec: {protocol: grpc}
                ---
                kind: ExternalService
                name: payments
                spec: {endpoints: ["api.pay.example:443"], tls: {}}
                """);
        assertThat(p.meshConfig().trustDomain()).isEqualTo("example.org");
        assertThat(p.services().get("echo").timeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(p.services().get("echo").loadBalancer()).isEqualTo(MeshPolicy.LoadBalancer.ROUND_ROBIN);
        assertThat(p.serviceOrDefault("unknown").loadBalancer()).isEqualTo(MeshPolicy.LoadBalancer.ROUND_ROBIN);
        assertThat(MeshPolicy.EMPTY.serviceOrDefault("x").loadBalancer()).isEqualTo(MeshPolicy.LoadBalancer.PEAK_EWMA);
        assertThat(p.externalServices().get("payments").tls().orElseThrow().sni()).isEqualTo("api.pay.example");
    }

    @Test
    void twoMeshConfigsAreRefused() {
        assertThat(errors("kind: MeshConfig\nname: a\n---\nkind: MeshConfig\nname: b\n"))
                .containsExactly("MeshConfig/b: kind: MeshConfig (expected: at most one MeshConfig document, found 2)");
    }

    @Test
    void routesMayNotTargetExternalServices() {
        assertThat(errors("""
                kind: ExternalService
                name: payments
                spec: {endpoints: ["api.pay.example:443"]}
                ---
                kind: Route
                name: r
                spec:
                  service: users
                  rules: [{destinations: [{service: payments, weight: 1}]}]
                """)).containsExactly("Route/r: spec.rules[0].destinations[0].service: payments "
                + "(expected: a mesh service, not ExternalService/payments)");
    }

    @Test
    void meshConfigTelemetryIsValidated() {
        assertThat(errors("kind: MeshConfig\nname: m\nspec:\n  accessLog: logs/a.log\n  tracing: {collector: otel, sampling: 150}\n"))
                .anySatisfy(e -> assertThat(e).contains("spec.accessLog: 'logs/a.log' (expected: stdout or an absolute file path)"))
                .anySatisfy(e -> assertThat(e).contains("spec.tracing.sampling").contains("0.0..100.0"))
                .anySatisfy(e -> assertThat(e).contains("spec.tracing.collector: 'otel' (expected: host:port of an OTLP/gRPC collector"));
        assertThat(errors("kind: MeshConfig\nname: m\nspec:\n  tracing: {sampling: 5}\n"))
                .anySatisfy(e -> assertThat(e).contains("spec.tracing.collector"));
    }
}
