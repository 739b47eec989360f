package dev.trellis.sidecar;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listenerWithFilters;
import static dev.trellis.sidecar.testing.Boot.typed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.SidecarConfig;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import dev.trellis.sidecar.filter.fault.FaultConfig;
import dev.trellis.sidecar.testing.Backend;
import dev.trellis.sidecar.testing.Proxy;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code envoy.filters.http.fault} as the control plane emits it: the translation, and a real sidecar injecting faults. */
class FaultInjectionTest {
    static final String HTTP_FAULT = "envoy.extensions.filters.http.fault.v3.HTTPFault";
    static final String FILTER = filter("");

    static String filter(String body) {
        return j("{'name': 'envoy.filters.http.fault', 'typed_config': " + typed(HTTP_FAULT, body) + "}");
    }

    static String vhost(String abortFault, String delayFault) {
        return j("{'name': 'v', 'domains': ['*'], 'routes': ["
                + "{'match': {'prefix': '/abort'}, 'route': {'cluster': 'app'}, 'typed_per_filter_config': {'envoy.filters.http.fault': "
                + typed(HTTP_FAULT, abortFault) + "}},"
                + "{'match': {'prefix': '/delay'}, 'route': {'cluster': 'app'}, 'typed_per_filter_config': {'envoy.filters.http.fault': "
                + typed(HTTP_FAULT, delayFault) + "}},"
                + "{'match': {'prefix': '/'}, 'route': {'cluster': 'app'}}]}");
    }

    static final String ABORT = "'abort': {'http_status': 503, 'percentage': {'numerator': 1000000, 'denominator': 'MILLION'}}";
    static final String DELAY = "'delay': {'fixed_delay': '0.400s', 'percentage': {'numerator': 100}}";

    static SidecarConfig translate(String filters, String vhost) {
        return BootstrapTranslator.translate(BootstrapLoader.parse(
                bootstrap(listenerWithFilters("l", "", vhost, filters, null), cluster("app", "", 1)), false));
    }

    @Test
    void bootstrapWithTheFilterAndRouteFaultsTranslates() {
        SidecarConfig c = translate(FILTER, vhost(ABORT, DELAY));
        var http = c.listeners().get(0).http();
        assertThat(http.filtersBeforeRouter().get(0)).isEqualTo(new FaultConfig("envoy.filters.http.fault",
                java.util.Optional.empty(), java.util.Optional.empty()));
        FaultConfig abort = (FaultConfig) http.routes().virtualHosts().get(0).routes().get(0).filterConfig("envoy.filters.http.fault");
        assertThat(abort.abort().get().httpStatus()).isEqualTo(503);
        assertThat(abort.abort().get().fraction()).isEqualTo(new FaultConfig.Fraction(1_000_000, 1_000_000));
        FaultConfig delay = (FaultConfig) http.routes().virtualHosts().get(0).routes().get(1).filterConfig("envoy.filters.http.fault");
        assertThat(delay.delay().get().fixed()).isEqualTo(Duration.ofMillis(400));
        assertThat(delay.delay().get().fraction()).isEqualTo(new FaultConfig.Fraction(100, 100));
    }

    @Test
    void unsupportedFaultFieldsAreRefusedWithTheirPath() {
        assertThatThrownBy(() -> translate(filter("'max_active_faults': 3"), vhost(ABORT, DELAY)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("http_filters[0].typed_config.max_active_faults: not supported");
        assertThatThrownBy(() -> translate(filter("'headers': [{'name': 'x-fault', 'present_match': true}]"), vhost(ABORT, DELAY)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("typed_config.headers: not supported");
        assertThatThrownBy(() -> translate(FILTER, vhost("'abort': {'header_abort': {}}", DELAY)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("routes[0].typed_per_filter_config[envoy.filters.http.fault].abort.header_abort: not supported");
        assertThatThrownBy(() -> translate(FILTER, vhost(ABORT, "'delay': {'fixed_delay': '1s'}, 'response_rate_limit': {'fixed_limit': {'limit_kbps': 1}}")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("response_rate_limit: not supported");
        assertThatThrownBy(() -> translate(FILTER, vhost("'abort': {'http_status': 99, 'percentage': {'numerator': 100}}", DELAY)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("abort.http_status: 99 (expected: 200 to 599)");
        // a route fault needs the filter in the chain
        assertThatThrownBy(() -> translate("", vhost(ABORT, DELAY)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("typed_per_filter_config[envoy.filters.http.fault]");
    }

    @Test
    void aRealSidecarAbortsAndDelays() throws Exception {
        try (Backend app = new Backend("app");
             Proxy proxy = Proxy.start(bootstrap(listenerWithFilters("gw", "", vhost(ABORT, DELAY), FILTER, null),
                     cluster("app", "", app.port())))) {
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> aborted = http.send(HttpRequest.newBuilder(proxy.uri("gw", "/abort/x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(aborted.statusCode()).isEqualTo(503);
            assertThat(aborted.headers().firstValue("x-trellis-response-flags")).contains("FI");
            assertThat(app.requests.get()).isZero();

            long start = System.nanoTime();
            HttpResponse<String> delayed = http.send(HttpRequest.newBuilder(proxy.uri("gw", "/delay/x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(400));
            assertThat(delayed.statusCode()).isEqualTo(200);
            assertThat(app.requests.get()).isEqualTo(1);

            HttpResponse<String> plain = http.send(HttpRequest.newBuilder(proxy.uri("gw", "/plain")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).isEqualTo(200);
            assertThat(plain.headers().firstValue("x-trellis-response-flags")).isEmpty();
        }
    }
}
