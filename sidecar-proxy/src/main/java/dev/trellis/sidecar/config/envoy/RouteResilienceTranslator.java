package dev.trellis.sidecar.config.envoy;

import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.HashPolicy;
import dev.trellis.sidecar.config.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** A route action's {@code hash_policy} and {@code retry_policy}. */
final class RouteResilienceTranslator {
    static final String PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";

    private RouteResilienceTranslator() {}

    static List<HashPolicy> hashPolicy(RouteAction a, String path) {
        List<HashPolicy> out = new ArrayList<>();
        for (int i = 0; i < a.getHashPolicyCount(); i++) {
            RouteAction.HashPolicy h = a.getHashPolicy(i);
            String hp = path + ".hash_policy[" + i + "]";
            Fields.allowOnly(h, hp, "header", "cookie", "connection_properties", "terminal");
            out.add(switch (h.getPolicySpecifierCase()) {
                case HEADER -> {
                    Fields.allowOnly(h.getHeader(), hp + ".header", "header_name");
                    if (h.getHeader().getHeaderName().isEmpty()) {
                        throw Fields.invalid(hp + ".header.header_name", "''", "a header name");
                    }
                    yield new HashPolicy(HashPolicy.Kind.HEADER, h.getHeader().getHeaderName(), h.getTerminal());
                }
                case COOKIE -> {
                    Fields.allowOnly(h.getCookie(), hp + ".cookie", "name");
                    if (h.getCookie().getName().isEmpty()) {
                        throw Fields.invalid(hp + ".cookie.name", "''", "a cookie name");
                    }
                    yield new HashPolicy(HashPolicy.Kind.COOKIE, h.getCookie().getName(), h.getTerminal());
                }
                case CONNECTION_PROPERTIES -> {
                    Fields.allowOnly(h.getConnectionProperties(), hp + ".connection_properties", "source_ip");
                    if (!h.getConnectionProperties().getSourceIp()) {
                        throw Fields.invalid(hp + ".connection_properties.source_ip", false, "true");
                    }
                    yield new HashPolicy(HashPolicy.Kind.SOURCE_IP, "", h.getTerminal());
                }
                default -> throw new ConfigException(hp + ": no policy (expected: header, cookie or connection_properties)");
            });
        }
        return out;
    }

    static Optional<RetryPolicy> retryPolicy(RouteAction a, String path) {
        if (!a.hasRetryPolicy()) {
            return Optional.empty();
        }
        var r = a.getRetryPolicy();
        String rp = path + ".retry_policy";
        Fields.allowOnly(r, rp, "retry_on", "num_retries", "per_try_timeout", "retry_back_off", "retry_host_predicate",
                "host_selection_retry_max_attempts", "retriable_status_codes");
        Set<String> on = new LinkedHashSet<>();
        for (String s : r.getRetryOn().split(",")) {
            String t = s.trim();
            if (!t.isEmpty()) {
                if (!RetryPolicy.CONDITIONS.contains(t)) {
                    throw Fields.invalid(rp + ".retry_on", "'" + t + "'", "some of " + new java.util.TreeSet<>(RetryPolicy.CONDITIONS));
                }
                on.add(t);
            }
        }
        int num = r.hasNumRetries() ? r.getNumRetries().getValue() : 1;
        Optional<Duration> perTry = r.hasPerTryTimeout()
                ? Optional.of(Fields.positive(r.getPerTryTimeout(), rp + ".per_try_timeout")) : Optional.empty();
        Duration base = RetryPolicy.DEFAULT_BACKOFF_BASE;
        Duration max = null;
        if (r.hasRetryBackOff()) {
            var b = r.getRetryBackOff();
            Fields.allowOnly(b, rp + ".retry_back_off", "base_interval", "max_interval");
            if (!b.hasBaseInterval()) {
                throw new ConfigException(rp + ".retry_back_off.base_interval: missing (expected: a duration > 0)");
            }
            base = Fields.positive(b.getBaseInterval(), rp + ".retry_back_off.base_interval");
            if (b.hasMaxInterval()) {
                max = Fields.positive(b.getMaxInterval(), rp + ".retry_back_off.max_interval");
                if (max.compareTo(base) < 0) {
                    throw Fields.invalid(rp + ".retry_back_off.max_interval", max.toMillis() + "ms",
                            ">= base_interval " + base.toMillis() + "ms");
                }
            }
        }
        if (max == null) {
            max = base.multipliedBy(10);
        }
        boolean previous = false;
        for (int i = 0; i < r.getRetryHostPredicateCount(); i++) {
            var p = r.getRetryHostPredicate(i);
            String pp = rp + ".retry_host_predicate[" + i + "]";
            Fields.allowOnly(p, pp, "name", "typed_config");
            boolean byType = p.hasTypedConfig()
                    && p.getTypedConfig().getTypeUrl().endsWith("/" + PreviousHostsPredicate.getDescriptor().getFullName());
            if (!byType && !(p.getName().equals(PREVIOUS_HOSTS) && !p.hasTypedConfig())) {
                throw Fields.invalid(pp, "'" + p.getName() + "'", PREVIOUS_HOSTS + " with a PreviousHostsPredicate");
            }
            previous = true;
        }
        long attempts = r.getHostSelectionRetryMaxAttempts();
        if (attempts < 0 || attempts > 100) {
            throw Fields.invalid(rp + ".host_selection_retry_max_attempts", attempts, "0..100");
        }
        Set<Integer> codes = new LinkedHashSet<>();
        for (int c : r.getRetriableStatusCodesList()) {
            if (c < 100 || c > 599) {
                throw Fields.invalid(rp + ".retriable_status_codes", c, "HTTP status codes 100..599");
            }
            codes.add(c);
        }
        return Optional.of(new RetryPolicy(on, num, perTry, base, max, codes, previous,
                attempts == 0 ? 1 : (int) attempts));
    }
}
