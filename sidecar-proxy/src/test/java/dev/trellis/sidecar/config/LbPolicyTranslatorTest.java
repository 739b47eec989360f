package dev.trellis.sidecar.config;

import static dev.trellis.sidecar.testing.Boot.bootstrap;
import static dev.trellis.sidecar.testing.Boot.cluster;
import static dev.trellis.sidecar.testing.Boot.j;
import static dev.trellis.sidecar.testing.Boot.listener;
import static dev.trellis.sidecar.testing.Boot.route;
import static dev.trellis.sidecar.testing.Boot.vhost;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import dev.trellis.sidecar.config.envoy.BootstrapLoader;
import dev.trellis.sidecar.config.envoy.BootstrapTranslator;
import dev.trellis.sidecar.config.envoy.ClusterTranslator;
import dev.trellis.sidecar.config.envoy.LbPolicyTranslator;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.LoadBalancingPolicy;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LbPolicyTranslatorTest {
    static ClusterConfig parse(String clusterExtra) {
        return BootstrapTranslator.translate(BootstrapLoader.parse(
                bootstrap(listener("in", "", vhost(route("/", "app"))), cluster("app", clusterExtra, 8080)), false))
                .clusters().get("app");
    }

    static final String PEAK = "'load_balancing_policy': {'policies': [{'typed_extension_config': {"
            + "'name': 'trellis.load_balancing_policies.peak_ewma', 'typed_config': {"
            + "'@type': 'type.googleapis.com/xds.type.v3.TypedStruct',"
            + "'type_url': 'type.googleapis.com/trellis.load_balancing_policies.v1.PeakEwma'%s}}}]}";

    @Test
    void acceptsExactlyWhatTheControlPlaneSends() {
        // the shape of control-plane Translator.edsCluster for loadBalancer: peak_ewma
        Cluster c = Cluster.newBuilder().setName("outbound|users")
                .setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                .setLoadBalancingPolicy(LoadBalancingPolicy.newBuilder()
                        .addPolicies(LoadBalancingPolicy.Policy.newBuilder().setTypedExtensionConfig(
                                TypedExtensionConfig.newBuilder().setName(LbPolicyTranslator.PEAK_EWMA).setTypedConfig(Any.pack(
                                        TypedStruct.newBuilder().setTypeUrl("type.googleapis.com/" + LbPolicyTranslator.PEAK_EWMA_TYPE).build()))))
                        .addPolicies(LoadBalancingPolicy.Policy.newBuilder().setTypedExtensionConfig(
                                TypedExtensionConfig.newBuilder().setName("envoy.load_balancing_policies.least_request")
                                        .setTypedConfig(Any.pack(LeastRequest.newBuilder().setChoiceCount(UInt32Value.of(2)).build())))))
                .build();
        ClusterConfig cc = ClusterTranslator.translate(c, "cds");
        assertThat(cc.lb().policy()).isEqualTo(LbConfig.Policy.PEAK_EWMA);
        assertThat(cc.lb().ewmaDecay()).isEqualTo(Duration.ofSeconds(10));
        assertThat(cc.lb().ewmaDefaultRtt()).isEqualTo(Duration.ofMillis(30));
        assertThat(cc.lbPolicy()).isEqualTo("PEAK_EWMA");
    }

    @Test
    void peakEwmaFromABootstrapWithItsSettings() {
        LbConfig lb = parse(String.format(PEAK, ", 'value': {'decay': '5s', 'default_rtt': '0.010s'}")).lb();
        assertThat(lb.policy()).isEqualTo(LbConfig.Policy.PEAK_EWMA);
        assertThat(lb.ewmaDecay()).isEqualTo(Duration.ofSeconds(5));
        assertThat(lb.ewmaDefaultRtt()).isEqualTo(Duration.ofMillis(10));
        assertThatThrownBy(() -> parse(String.format(PEAK, ", 'value': {'penalty': '5s'}")))
                .hasMessageContaining("load_balancing_policy.policies[0].typed_extension_config.typed_config.value.penalty: not supported");
        assertThatThrownBy(() -> parse(String.format(PEAK, ", 'value': {'decay': 'soon'}")))
                .hasMessageContaining("value.decay: 'soon'");
    }

    @Test
    void theFirstKnownPolicyWins() {
        String b = "'load_balancing_policy': {'policies': [{'typed_extension_config': {'name': 'x', 'typed_config': {"
                + "'@type': 'type.googleapis.com/xds.type.v3.TypedStruct', 'type_url': 'type.googleapis.com/acme.Magic'}}},"
                + "{'typed_extension_config': {'name': 'lr', 'typed_config': {"
                + "'@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', 'choice_count': 3}}}]}";
        LbConfig lb = parse(b).lb();
        assertThat(lb.policy()).isEqualTo(LbConfig.Policy.LEAST_REQUEST);
        assertThat(lb.choiceCount()).isEqualTo(3);
        assertThatThrownBy(() -> parse("'load_balancing_policy': {'policies': [{'typed_extension_config': {'name': 'x', 'typed_config': {"
                + "'@type': 'type.googleapis.com/xds.type.v3.TypedStruct', 'type_url': 'type.googleapis.com/acme.Magic'}}}]}"))
                .hasMessageContaining("load_balancing_policy: no supported policy among [acme.Magic]");
    }

    @Test
    void lbPolicyEnumsWithTheirConfigs() {
        LbConfig lr = parse("'lb_policy': 'LEAST_REQUEST', 'least_request_lb_config': {'choice_count': 4, 'active_request_bias': {'default_value': 0.5, 'runtime_key': 'x'}}".replace(", 'runtime_key': 'x'", "")).lb();
        assertThat(lr.policy()).isEqualTo(LbConfig.Policy.LEAST_REQUEST);
        assertThat(lr.choiceCount()).isEqualTo(4);
        assertThat(lr.activeRequestBias()).isEqualTo(0.5);
        LbConfig rh = parse("'lb_policy': 'RING_HASH', 'ring_hash_lb_config': {'minimum_ring_size': 64, 'maximum_ring_size': 128}").lb();
        assertThat(rh.minRingSize()).isEqualTo(64);
        assertThat(rh.maxRingSize()).isEqualTo(128);
        assertThat(parse("'lb_policy': 'RANDOM'").lb().policy()).isEqualTo(LbConfig.Policy.RANDOM);
        assertThat(parse("'common_lb_config': {'healthy_panic_threshold': {'value': 0}}").lb().panicThreshold()).isZero();
        assertThat(parse("").lb()).isEqualTo(LbConfig.ROUND_ROBIN);
    }

    @Test
    void refusesWhatItCannotHonour() {
        assertThatThrownBy(() -> parse("'lb_policy': 'MAGLEV'"))
                .hasMessageContaining("static_resources.clusters[0] (cluster 'app').lb_policy: MAGLEV");
        assertThatThrownBy(() -> parse("'lb_policy': 'RING_HASH', 'ring_hash_lb_config': {'minimum_ring_size': 256, 'maximum_ring_size': 16}"))
                .hasMessageContaining("ring size: minimum 256, maximum 16");
        assertThatThrownBy(() -> parse("'lb_policy': 'LEAST_REQUEST', 'least_request_lb_config': {'choice_count': 1}"))
                .hasMessageContaining("choice_count: 1 (expected: >= 2)");
        assertThatThrownBy(() -> parse("'ring_hash_lb_config': {'minimum_ring_size': 64}"))
                .hasMessageContaining("ring_hash_lb_config: set (expected: only with lb_policy RING_HASH)");
        assertThatThrownBy(() -> parse("'common_lb_config': {'zone_aware_lb_config': {}}"))
                .hasMessageContaining("common_lb_config.zone_aware_lb_config: not supported");
    }

    @Test
    void routeHashPolicy() {
        String r = j("{'match': {'prefix': '/'}, 'route': {'cluster': 'app', 'hash_policy': ["
                + "{'header': {'header_name': 'X-User'}}, {'cookie': {'name': 'sid'}, 'terminal': true}, {'connection_properties': {'source_ip': true}}]}}");
        SidecarConfig c = BootstrapTranslator.translate(BootstrapLoader.parse(
                bootstrap(listener("in", "", vhost(r)), cluster("app", "", 8080)), false));
        RouteTable.Forward fw = (RouteTable.Forward) c.listeners().get(0).http().routes().virtualHosts().get(0).routes().get(0).action();
        assertThat(fw.hashPolicy()).containsExactly(new HashPolicy(HashPolicy.Kind.HEADER, "x-user", false),
                new HashPolicy(HashPolicy.Kind.COOKIE, "sid", true), new HashPolicy(HashPolicy.Kind.SOURCE_IP, "", false));
        String bad = j("{'match': {'prefix': '/'}, 'route': {'cluster': 'app', 'hash_policy': [{'cookie': {'name': 'sid', 'ttl': '1s'}}]}}");
        assertThatThrownBy(() -> BootstrapTranslator.translate(BootstrapLoader.parse(
                bootstrap(listener("in", "", vhost(bad)), cluster("app", "", 8080)), false)))
                .hasMessageContaining("route.hash_policy[0].cookie.ttl: not supported");
    }
}
