package dev.trellis.sidecar.filter.rbac;

import dev.trellis.sidecar.config.HttpFilterConfig;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.StringMatch;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An {@code envoy.filters.http.rbac} filter, translated: no rules (the filter lets everything
 * through, as in Envoy) or an action and named policies. ALLOW lets a request through when some
 * policy matches it; DENY stops it when some policy matches it.
 */
public record RbacConfig(String name, Optional<Rules> rules) implements HttpFilterConfig {

    /** Envoy's {@code RBAC.Action} (LOG is not supported). */
    public enum Action { ALLOW, DENY }

    /** {@code RBAC}: an action and policies by name (sorted, so the reported policy is stable). */
    public record Rules(Action action, SortedMap<String, Policy> policies) {
        public Rules {
            policies = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(policies));
        }

        public static Rules of(Action action, Map<String, Policy> policies) {
            return new Rules(action, new TreeMap<>(policies));
        }

        /** The name of the first policy matching the request, if any. */
        public Optional<String> matchingPolicy(Request r) {
            for (Map.Entry<String, Policy> e : policies.entrySet()) {
                if (e.getValue().matches(r)) {
                    return Optional.of(e.getKey());
                }
            }
            return Optional.empty();
        }

        /** The decision: true to let the request through. */
        public boolean allows(Request r) {
            boolean matched = matchingPolicy(r).isPresent();
            return action == Action.ALLOW ? matched : !matched;
        }
    }

    /** What a decision looks at: the peer's verified identity and the request headers (with its normalised {@code :path}). */
    public record Request(Optional<String> principal, Http2Headers headers) {
        /** The path without query and fragment, as {@code url_path} sees it. */
        String urlPath() {
            CharSequence p = headers.path();
            if (p == null) {
                return "";
            }
            String s = p.toString();
            int q = s.indexOf('?');
            int f = s.indexOf('#');
            int end = q < 0 ? f : (f < 0 ? q : Math.min(q, f));
            return end < 0 ? s : s.substring(0, end);
        }
    }

    /** A {@code Policy}: matches when one of its permissions and one of its principals match. */
    public record Policy(List<Permission> permissions, List<Principal> principals) {
        public Policy {
            permissions = List.copyOf(permissions);
            principals = List.copyOf(principals);
        }

        public boolean matches(Request r) {
            return permissions.stream().anyMatch(p -> p.matches(r)) && principals.stream().anyMatch(p -> p.matches(r));
        }
    }

    /** What is being done: {@code Permission}. */
    public sealed interface Permission {
        boolean matches(Request r);

        /** {@code any: true}. */
        record Any() implements Permission {
            @Override public boolean matches(Request r) { return true; }
        }

        /** {@code and_rules}. */
        record And(List<Permission> rules) implements Permission {
            public And { rules = List.copyOf(rules); }
            @Override public boolean matches(Request r) { return rules.stream().allMatch(p -> p.matches(r)); }
        }

        /** {@code or_rules}. */
        record Or(List<Permission> rules) implements Permission {
            public Or { rules = List.copyOf(rules); }
            @Override public boolean matches(Request r) { return rules.stream().anyMatch(p -> p.matches(r)); }
        }

        /** {@code not_rule}. */
        record Not(Permission rule) implements Permission {
            @Override public boolean matches(Request r) { return !rule.matches(r); }
        }

        /** {@code url_path}: the path without query string and fragment. */
        record UrlPath(StringMatch path) implements Permission {
            @Override public boolean matches(Request r) { return path.matches(r.urlPath()); }
        }

        /** {@code header}: a request header, pseudo-headers ({@code :path}, {@code :method}, ...) included. */
        record Header(RouteTable.HeaderMatch header) implements Permission {
            @Override public boolean matches(Request r) { return headerMatches(header, r.headers()); }
        }
    }

    /** Who is asking: {@code Principal}. */
    public sealed interface Principal {
        boolean matches(Request r);

        /** {@code any: true}: everyone, plaintext peers included. */
        record Any() implements Principal {
            @Override public boolean matches(Request r) { return true; }
        }

        /** {@code and_ids}. */
        record And(List<Principal> ids) implements Principal {
            public And { ids = List.copyOf(ids); }
            @Override public boolean matches(Request r) { return ids.stream().allMatch(p -> p.matches(r)); }
        }

        /** {@code or_ids}. */
        record Or(List<Principal> ids) implements Principal {
            public Or { ids = List.copyOf(ids); }
            @Override public boolean matches(Request r) { return ids.stream().anyMatch(p -> p.matches(r)); }
        }

        /** {@code not_id}. */
        record Not(Principal id) implements Principal {
            @Override public boolean matches(Request r) { return !id.matches(r); }
        }

        /**
         * {@code authenticated}: a peer with a verified client certificate whose SPIFFE ID matches
         * {@code principalName} (any such peer when it is absent).
         */
        record Authenticated(Optional<StringMatch> principalName) implements Principal {
            @Override public boolean matches(Request r) {
                return r.principal().isPresent() && principalName.map(m -> m.matches(r.principal().get())).orElse(true);
            }
        }
    }

    /** Envoy's {@code HeaderMatcher} on a request: several values are joined with a comma. */
    static boolean headerMatches(RouteTable.HeaderMatch m, Http2Headers headers) {
        List<CharSequence> values = headers.getAll(m.name());
        if (values.isEmpty()) {
            // a missing header matches only "present_match: false" (or its inversion of "present_match: true")
            return m.presentOnly() && (m.invert() == m.present());
        }
        boolean result;
        if (m.presentOnly()) {
            result = m.present();
        } else {
            String v = values.size() == 1 ? values.get(0).toString() : String.join(",", values);
            result = m.value().matches(v);
        }
        return result != m.invert();
    }
}
