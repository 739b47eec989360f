package dev.trellis.sidecar.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.Durations;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.LbConfig;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.LoadBalancingPolicy;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest;
import io.envoyproxy.envoy.extensions.load_balancing_policies.random.v3.Random;
import io.envoyproxy.envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash;
import io.envoyproxy.envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A cluster's {@code lb_policy} with {@code least_request_lb_config}, {@code ring_hash_lb_config}
 * and {@code common_lb_config.healthy_panic_threshold}, or its {@code load_balancing_policy}
 * (which wins, as in Envoy): the first listed policy Trellis knows is taken, later ones are the
 * fallbacks of other clients. Trellis' own policy is {@value #PEAK_EWMA}, a {@code TypedStruct}
 * whose {@code type_url} ends in {@value #PEAK_EWMA_TYPE}, with optional {@code decay} and
 * {@code default_rtt} durations in its {@code value}.
 */
public final class LbPolicyTranslator {
    /** The extension name of Trellis' peak-EWMA balancer (the control plane's default for mesh services). */
    public static final String PEAK_EWMA = "trellis.load_balancing_policies.peak_ewma";
    /** The message type named in the {@code TypedStruct.type_url}. */
    public static final String PEAK_EWMA_TYPE = "trellis.load_balancing_policies.v1.PeakEwma";
    static final String TYPED_STRUCT = "xds.type.v3.TypedStruct";
    static final String UDPA_TYPED_STRUCT = "udpa.type.v1.TypedStruct";

    private LbPolicyTranslator() {}

    /** Fields of {@code Cluster} this class reads. */
    static final String[] FIELDS = {"lb_policy", "load_balancing_policy", "least_request_lb_config",
            "ring_hash_lb_config", "common_lb_config"};

    public static LbConfig translate(Cluster c, String cp) {
        double panic = LbConfig.DEFAULT_PANIC_THRESHOLD;
        if (c.hasCommonLbConfig()) {
            Fields.allowOnly(c.getCommonLbConfig(), cp + ".common_lb_config", "healthy_panic_threshold");
            if (c.getCommonLbConfig().hasHealthyPanicThreshold()) {
                panic = c.getCommonLbConfig().getHealthyPanicThreshold().getValue();
            }
        }
        LbConfig lb;
        if (c.hasLoadBalancingPolicy()) {
            if (c.hasLeastRequestLbConfig() || c.hasRingHashLbConfig()) {
                throw new ConfigException(cp + ": load_balancing_policy with least_request_lb_config or ring_hash_lb_config"
                        + " (expected: the policy's settings inside load_balancing_policy)");
            }
            lb = policy(c.getLoadBalancingPolicy(), cp + ".load_balancing_policy");
        } else {
            lb = lbPolicy(c, cp);
        }
        try {
            return lb.withPanicThreshold(panic);
        } catch (ConfigException e) {
            throw new ConfigException(cp + ".common_lb_config." + e.getMessage(), e);
        }
    }

    private static LbConfig lbPolicy(Cluster c, String cp) {
        LbConfig d = LbConfig.ROUND_ROBIN;
        LbConfig.Policy p = switch (c.getLbPolicy()) {
            case ROUND_ROBIN -> LbConfig.Policy.ROUND_ROBIN;
            case LEAST_REQUEST -> LbConfig.Policy.LEAST_REQUEST;
            case RANDOM -> LbConfig.Policy.RANDOM;
            case RING_HASH -> LbConfig.Policy.RING_HASH;
            default -> throw Fields.invalid(cp + ".lb_policy", c.getLbPolicy(),
                    "ROUND_ROBIN, LEAST_REQUEST, RANDOM or RING_HASH; or load_balancing_policy with " + PEAK_EWMA);
        };
        if (c.hasLeastRequestLbConfig() && p != LbConfig.Policy.LEAST_REQUEST) {
            throw Fields.invalid(cp + ".least_request_lb_config", "set", "only with lb_policy LEAST_REQUEST");
        }
        if (c.hasRingHashLbConfig() && p != LbConfig.Policy.RING_HASH) {
            throw Fields.invalid(cp + ".ring_hash_lb_config", "set", "only with lb_policy RING_HASH");
        }
        int choices = d.choiceCount();
        double bias = d.activeRequestBias();
        long min = d.minRingSize();
        long max = d.maxRingSize();
        if (c.hasLeastRequestLbConfig()) {
            var l = c.getLeastRequestLbConfig();
            String lp = cp + ".least_request_lb_config";
            Fields.allowOnly(l, lp, "choice_count", "active_request_bias");
            if (l.hasChoiceCount()) {
                choices = l.getChoiceCount().getValue();
            }
            if (l.hasActiveRequestBias()) {
                Fields.allowOnly(l.getActiveRequestBias(), lp + ".active_request_bias", "default_value");
                bias = l.getActiveRequestBias().getDefaultValue();
            }
        }
        if (c.hasRingHashLbConfig()) {
            var r = c.getRingHashLbConfig();
            String rp = cp + ".ring_hash_lb_config";
            Fields.allowOnly(r, rp, "minimum_ring_size", "maximum_ring_size", "hash_function");
            if (r.getHashFunction() != Cluster.RingHashLbConfig.HashFunction.XX_HASH) {
                throw Fields.invalid(rp + ".hash_function", r.getHashFunction(), "XX_HASH (the default)");
            }
            if (r.hasMinimumRingSize()) {
                min = r.getMinimumRingSize().getValue();
            }
            if (r.hasMaximumRingSize()) {
                max = r.getMaximumRingSize().getValue();
            }
        }
        return build(cp, p, choices, bias, min, max, d.ewmaDecay(), d.ewmaDefaultRtt());
    }

    private static LbConfig build(String path, LbConfig.Policy p, int choices, double bias, long min, long max,
                                  Duration decay, Duration rtt) {
        try {
            return new LbConfig(p, choices, bias, min, max, LbConfig.DEFAULT_PANIC_THRESHOLD, decay, rtt);
        } catch (ConfigException e) {
            throw new ConfigException(path + ": " + e.getMessage(), e);
        }
    }

    private static LbConfig policy(LoadBalancingPolicy lbp, String path) {
        Fields.allowOnly(lbp, path, "policies");
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < lbp.getPoliciesCount(); i++) {
            String pp = path + ".policies[" + i + "]";
            Fields.allowOnly(lbp.getPolicies(i), pp, "typed_extension_config");
            TypedExtensionConfig t = lbp.getPolicies(i).getTypedExtensionConfig();
            Fields.allowOnly(t, pp + ".typed_extension_config", "name", "typed_config");
            String tp = pp + ".typed_extension_config.typed_config";
            Any any = t.getTypedConfig();
            String type = any.getTypeUrl().substring(any.getTypeUrl().lastIndexOf('/') + 1);
            LbConfig d = LbConfig.ROUND_ROBIN;
            switch (type) {
                case TYPED_STRUCT, UDPA_TYPED_STRUCT -> {
                    String inner;
                    Struct value;
                    try {
                        if (type.equals(TYPED_STRUCT)) {
                            var ts = any.unpack(com.github.xds.type.v3.TypedStruct.class);
                            inner = ts.getTypeUrl();
                            value = ts.getValue();
                        } else {
                            var ts = any.unpack(com.github.udpa.udpa.type.v1.TypedStruct.class);
                            inner = ts.getTypeUrl();
                            value = ts.getValue();
                        }
                    } catch (InvalidProtocolBufferException e) {
                        throw new ConfigException(tp + ": cannot read " + type + ": " + e.getMessage(), e);
                    }
                    String innerType = inner.substring(inner.lastIndexOf('/') + 1);
                    if (innerType.equals(PEAK_EWMA_TYPE)) {
                        return peakEwma(value, tp + ".value");
                    }
                    seen.add(innerType);
                }
                case "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin" -> {
                    Fields.allowOnly(EnvoyTypes.unpack(any, RoundRobin.class, RoundRobin.getDescriptor(), tp), tp);
                    return d;
                }
                case "envoy.extensions.load_balancing_policies.random.v3.Random" -> {
                    Fields.allowOnly(EnvoyTypes.unpack(any, Random.class, Random.getDescriptor(), tp), tp);
                    return LbConfig.of(LbConfig.Policy.RANDOM);
                }
                case "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest" -> {
                    LeastRequest l = EnvoyTypes.unpack(any, LeastRequest.class, LeastRequest.getDescriptor(), tp);
                    Fields.allowOnly(l, tp, "choice_count", "active_request_bias");
                    double bias = d.activeRequestBias();
                    if (l.hasActiveRequestBias()) {
                        Fields.allowOnly(l.getActiveRequestBias(), tp + ".active_request_bias", "default_value");
                        bias = l.getActiveRequestBias().getDefaultValue();
                    }
                    return build(tp, LbConfig.Policy.LEAST_REQUEST,
                            l.hasChoiceCount() ? l.getChoiceCount().getValue() : d.choiceCount(), bias,
                            d.minRingSize(), d.maxRingSize(), d.ewmaDecay(), d.ewmaDefaultRtt());
                }
                case "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash" -> {
                    RingHash r = EnvoyTypes.unpack(any, RingHash.class, RingHash.getDescriptor(), tp);
                    Fields.allowOnly(r, tp, "hash_function", "minimum_ring_size", "maximum_ring_size");
                    if (r.getHashFunction() != RingHash.HashFunction.DEFAULT_HASH
                            && r.getHashFunction() != RingHash.HashFunction.XX_HASH) {
                        throw Fields.invalid(tp + ".hash_function", r.getHashFunction(), "XX_HASH (the default)");
                    }
                    return build(tp, LbConfig.Policy.RING_HASH, d.choiceCount(), d.activeRequestBias(),
                            r.hasMinimumRingSize() ? r.getMinimumRingSize().getValue() : d.minRingSize(),
                            r.hasMaximumRingSize() ? r.getMaximumRingSize().getValue() : d.maxRingSize(),
                            d.ewmaDecay(), d.ewmaDefaultRtt());
                }
                default -> seen.add(type);
            }
        }
        throw new ConfigException(path + ": no supported policy among " + seen + " (expected: " + PEAK_EWMA
                + " as a TypedStruct of " + PEAK_EWMA_TYPE + ", or Envoy's round_robin, least_request, random, ring_hash)");
    }

    private static LbConfig peakEwma(Struct value, String path) {
        LbConfig d = LbConfig.of(LbConfig.Policy.PEAK_EWMA);
        Duration decay = d.ewmaDecay();
        Duration rtt = d.ewmaDefaultRtt();
        for (var e : value.getFieldsMap().entrySet()) {
            switch (e.getKey()) {
                case "decay" -> decay = duration(e.getValue(), path + ".decay");
                case "default_rtt" -> rtt = duration(e.getValue(), path + ".default_rtt");
                default -> throw new ConfigException(path + "." + e.getKey()
                        + ": not supported by Trellis (supported here: decay, default_rtt)");
            }
        }
        return build(path, LbConfig.Policy.PEAK_EWMA, d.choiceCount(), d.activeRequestBias(), d.minRingSize(),
                d.maxRingSize(), decay, rtt);
    }

    private static Duration duration(Value v, String path) {
        try {
            return Fields.duration(Durations.parse(v.getStringValue()));
        } catch (java.text.ParseException e) {
            throw Fields.invalid(path, "'" + v.getStringValue() + "'", "a duration such as \"10s\" or \"0.030s\"");
        }
    }
}
