package dev.trellis.sidecar.filter.fault;

import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.typed;
import static dev.trellis.sidecar.testing.Embedded.ascii;
import static dev.trellis.sidecar.testing.Embedded.drain;
import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.sidecar.error.ResponseFlag;
import dev.trellis.sidecar.error.StreamInfo;
import dev.trellis.sidecar.filter.FilterFactory;
import dev.trellis.sidecar.http.HttpConnectionManager;
import dev.trellis.sidecar.listener.HttpCodecs;
import dev.trellis.sidecar.testing.Embedded;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The fault filter on an EmbeddedChannel: aborts by percentage, a delay on the channel's own scheduler. */
class FaultFilterTest {
    static final String HTTP_FAULT = "envoy.extensions.filters.http.fault.v3.HTTPFault";
    // as the control plane emits it: an empty filter config, the faults per route
    static final String FILTER = j("{'name': 'envoy.filters.http.fault', 'typed_config': " + typed(HTTP_FAULT, "") + "}");
    static final String ROUTES = j("{'name': 'v', 'domains': ['*'], 'routes': ["
            + route("/abort100", "'abort': {'http_status': 418, 'percentage': {'numerator': 100}}")
            + route("/abort0", "'abort': {'http_status': 418, 'percentage': {'numerator': 0}}")
            + route("/abort-half", "'abort': {'http_status': 503, 'percentage': {'numerator': 500000, 'denominator': 'MILLION'}}")
            + route("/delay", "'delay': {'fixed_delay': '0.300s', 'percentage': {'numerator': 100}}")
            + route("/both", "'delay': {'fixed_delay': '1s', 'percentage': {'numerator': 100}},"
                    + "'abort': {'http_status': 500, 'percentage': {'numerator': 100}}")
            + "{'match': {'prefix': '/'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'A'}}}]}");
    final List<StreamInfo> finished = new CopyOnWriteArrayList<>();

    static String route(String prefix, String fault) {
        return "{'match': {'prefix': '" + prefix + "'}, 'direct_response': {'status': 200, 'body': {'inline_string': 'A'}},"
                + " 'typed_per_filter_config': {'envoy.filters.http.fault': " + typed(HTTP_FAULT, fault) + "}},";
    }

    EmbeddedChannel channel(LongSupplier random) {
        Embedded e = new Embedded("", FILTER, ROUTES, System::nanoTime);
        FaultConfig c = (FaultConfig) e.hcm.config().filtersBeforeRouter().get(0);
        FilterFactory f = FaultFilter.factory(c, random);
        var hcm = new HttpConnectionManager("l", e.hcm.config(), Map.of(), finished::add, false, System::nanoTime, List.of(f));
        EmbeddedChannel ch = new EmbeddedChannel();
        HttpCodecs.http1(ch.pipeline(), hcm.config(), () -> hcm);
        return ch;
    }

    static String get(EmbeddedChannel ch, String path) {
        ch.writeInbound(ascii("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n"));
        ch.runPendingTasks();
        return drain(ch);
    }

    @Test
    void abortAtHundredPercentAnswersWithTheStatusAndFI() {
        EmbeddedChannel ch = channel(() -> 99);
        assertThat(get(ch, "/abort100")).startsWith("HTTP/1.1 418").contains("x-trellis-response-flags: FI")
                .contains("fault filter abort");
        assertThat(finished.get(0).flags()).containsExactly(ResponseFlag.FI);
        assertThat(finished.get(0).responseCode()).isEqualTo(418);
        ch.finishAndReleaseAll();
    }

    @Test
    void abortAtZeroPercentNeverFires() {
        EmbeddedChannel ch = channel(() -> 0);
        assertThat(get(ch, "/abort0")).startsWith("HTTP/1.1 200").endsWith("A");
        assertThat(finished.get(0).flags()).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void theDrawDecidesAtAFraction() {
        AtomicLong draw = new AtomicLong(499_999);
        EmbeddedChannel ch = channel(draw::get);
        assertThat(get(ch, "/abort-half")).startsWith("HTTP/1.1 503").contains("x-trellis-response-flags: FI");
        draw.set(500_000);
        assertThat(get(ch, "/abort-half")).startsWith("HTTP/1.1 200");
        assertThat(get(ch, "/other")).startsWith("HTTP/1.1 200");
        ch.finishAndReleaseAll();
    }

    @Test
    void delayWaitsOnTheEventLoopSchedulerThenGoesOn() {
        EmbeddedChannel ch = channel(() -> 0);
        ch.freezeTime();
        assertThat(get(ch, "/delay")).isEmpty();
        ch.advanceTimeBy(299, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(drain(ch)).isEmpty();
        ch.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
        assertThat(drain(ch)).startsWith("HTTP/1.1 200").endsWith("A");
        assertThat(finished.get(0).flags()).containsExactly(ResponseFlag.DI);
        ch.finishAndReleaseAll();
    }

    @Test
    void grpcCallsGetAGrpcStatus() {
        StreamInfo info = new StreamInfo(0);
        var mapped = dev.trellis.sidecar.error.ErrorResponder.faultAbort(503, java.util.Optional.empty(), true, info);
        assertThat(mapped.headers().status().toString()).isEqualTo("200");
        assertThat(mapped.headers().get("grpc-status").toString()).isEqualTo("14");
        assertThat(info.flags()).containsExactly(ResponseFlag.FI);
        var own = dev.trellis.sidecar.error.ErrorResponder.faultAbort(200, java.util.Optional.of(8), false, new StreamInfo(0));
        assertThat(own.headers().get("grpc-status").toString()).isEqualTo("8");
        assertThat(own.endStreamWithHeaders()).isTrue();
    }

    @Test
    void delayThenAbort() {
        EmbeddedChannel ch = channel(() -> 0);
        ch.freezeTime();
        assertThat(get(ch, "/both")).isEmpty();
        ch.advanceTimeBy(1, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
        assertThat(drain(ch)).startsWith("HTTP/1.1 500").contains("x-trellis-response-flags: FI,DI");
        ch.finishAndReleaseAll();
    }
}
