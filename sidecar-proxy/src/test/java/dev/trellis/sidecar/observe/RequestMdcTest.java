package dev.trellis.sidecar.observe;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.rbac;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static dev.trellis.sidecar.testing.Boot.withFilters;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.trellis.sidecar.filter.rbac.RbacFilter;
import dev.trellis.sidecar.http.ActiveStream;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** Log lines about a request carry its request id and trace id (MDC), and the event loop keeps no ids behind. */
class RequestMdcTest {
    @Test
    void perRequestLogEventsCarryRequestIdAndTraceId() throws Exception {
        Logger rbacLog = (Logger) LoggerFactory.getLogger(RbacFilter.class);
        Logger streamLog = (Logger) LoggerFactory.getLogger(ActiveStream.class);
        Level rbacLevel = rbacLog.getLevel();
        Level streamLevel = streamLog.getLevel();
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        rbacLog.addAppender(events);
        streamLog.addAppender(events);
        rbacLog.setLevel(Level.DEBUG);
        streamLog.setLevel(Level.DEBUG);
        String tracing = j("'tracing': {'provider': {'name': 'envoy.tracers.opentelemetry', 'typed_config': {'@type': '"
                + TracingTest.OTEL + "', 'grpc_service': {'google_grpc': {'target_uri': '127.0.0.1:%d', 'stat_prefix': 'otel'}}}}}");
        try (OtlpReceiver otlp = new OtlpReceiver(); Backend backend = new Backend("b");
             Proxy proxy = Proxy.start(bootstrap(withFilters(listener("main", tracing.formatted(otlp.grpcPort()),
                     vhost(route("/", "b"))), rbac("DENY", j("{'deny-all': {'permissions': [{'any': true}], "
                     + "'principals': [{'any': true}]}}"))), cluster("b", "", backend.port())))) {
            String trace = "0af7651916cd43dd8448eb211c80319c";
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(proxy.uri("main", "/x"))
                    .header("x-request-id", "req-mdc-1").header("traceparent", "00-" + trace + "-b7ad6b7169203331-01")
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(403);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> events.list.size() >= 2);
            List<ILoggingEvent> seen = List.copyOf(events.list);
            ILoggingEvent denied = seen.stream().filter(e -> e.getLoggerName().equals(RbacFilter.class.getName()))
                    .findFirst().orElseThrow();
            ILoggingEvent completed = seen.stream().filter(e -> e.getLoggerName().equals(ActiveStream.class.getName()))
                    .findFirst().orElseThrow();
            for (ILoggingEvent e : List.of(denied, completed)) {
                assertThat(e.getMDCPropertyMap()).as(e.getFormattedMessage())
                        .containsEntry(RequestMdc.REQUEST_ID, "req-mdc-1").containsEntry(RequestMdc.TRACE_ID, trace);
            }
        } finally {
            rbacLog.detachAppender(events);
            streamLog.detachAppender(events);
            rbacLog.setLevel(rbacLevel);
            streamLog.setLevel(streamLevel);
        }
    }

    @Test
    void idsAreRemovedAfterTheStatement() {
        dev.trellis.sidecar.error.StreamInfo info = new dev.trellis.sidecar.error.StreamInfo(0);
        info.requestId("req-2");
        try (RequestMdc mdc = RequestMdc.of(info)) {
            assertThat(MDC.get(RequestMdc.REQUEST_ID)).isEqualTo("req-2");
            // no trace: no trace_id rather than "-"
            assertThat(MDC.get(RequestMdc.TRACE_ID)).isNull();
        }
        assertThat(MDC.get(RequestMdc.REQUEST_ID)).isNull();
    }
}
