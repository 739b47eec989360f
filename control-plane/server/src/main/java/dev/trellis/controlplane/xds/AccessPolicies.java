package dev.trellis.controlplane.xds;

import com.google.protobuf.Any;
import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.MeshPolicy.AccessPolicySpec;
import dev.trellis.controlplane.policy.MeshPolicy.AccessRule;
import dev.trellis.controlplane.policy.MeshPolicy.Action;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.List;

/**
 * Compiles an {@code AccessPolicy} into the inbound listener's RBAC filters: a DENY filter with the
 * deny rules first, then (for {@code default: deny}) an ALLOW filter with the allow rules, so deny
 * wins over allow. Callers are matched on their verified SPIFFE ID
 * ({@code spiffe://<trustDomain>/ns/<namespace>/sa/<service>}); enforcement is the sidecar's.
 */
final class AccessPolicies {
    static final String RBAC_FILTER = "envoy.filters.http.rbac";

    private AccessPolicies() {}

    /** The RBAC filters for {@code service}'s inbound listener (none when it has no AccessPolicy). */
    static List<HttpFilter> filters(String service, MeshPolicy policy) {
        AccessPolicySpec ap = policy.accessPolicies().get(service);
        if (ap == null) return List.of();
        List<HttpFilter> out = new ArrayList<>();
        RBAC.Builder deny = RBAC.newBuilder().setAction(RBAC.Action.DENY);
        RBAC.Builder allow = RBAC.newBuilder().setAction(RBAC.Action.ALLOW);
        for (int i = 0; i < ap.rules().size(); i++) {
            AccessRule r = ap.rules().get(i);
            Policy p = policy(r, policy.meshConfig());
            if (r.action() == Action.DENY) deny.putPolicies("deny-" + i, p);
            else allow.putPolicies("allow-" + i, p);
        }
        if (deny.getPoliciesCount() > 0) out.add(filter(deny.build()));
        if (ap.defaultAction() == Action.DENY) out.add(filter(allow.build()));
        return out;
    }

    private static HttpFilter filter(RBAC rules) {
        return HttpFilter.newBuilder().setName(RBAC_FILTER).setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(rules).build())).build();
    }

    static String spiffeId(MeshPolicy.MeshConfig mesh, String service) {
        return "spiffe://" + mesh.trustDomain() + "/ns/" + mesh.namespace() + "/sa/" + service;
    }

    private static Policy policy(AccessRule r, MeshPolicy.MeshConfig mesh) {
        Policy.Builder p = Policy.newBuilder();
        if (r.from().contains("*")) {
            // any workload of the mesh (a verified certificate of our trust domain), as Istio's "*";
            // a plaintext caller on a PERMISSIVE port is not one
            p.addPrincipals(Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder()
                    .setPrincipalName(StringMatcher.newBuilder().setPrefix("spiffe://" + mesh.trustDomain() + "/"))));
        } else {
            Principal.Set.Builder ids = Principal.Set.newBuilder();
            for (String f : r.from()) {
                ids.addIds(Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder()
                        .setPrincipalName(StringMatcher.newBuilder().setExact(spiffeId(mesh, f)))));
            }
            p.addPrincipals(Principal.newBuilder().setOrIds(ids));
        }
        List<Permission> and = new ArrayList<>();
        if (!r.methods().isEmpty()) {
            Permission.Set.Builder methods = Permission.Set.newBuilder();
            r.methods().forEach(m -> methods.addRules(Permission.newBuilder().setHeader(HeaderMatcher.newBuilder()
                    .setName(":method").setStringMatch(StringMatcher.newBuilder().setExact(m)))));
            and.add(Permission.newBuilder().setOrRules(methods).build());
        }
        if (!r.paths().isEmpty()) {
            Permission.Set.Builder paths = Permission.Set.newBuilder();
            for (String path : r.paths()) {
                StringMatcher m = path.endsWith("*")
                        ? StringMatcher.newBuilder().setPrefix(path.substring(0, path.length() - 1)).build()
                        : StringMatcher.newBuilder().setExact(path).build();
                paths.addRules(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder().setPath(m)));
            }
            and.add(Permission.newBuilder().setOrRules(paths).build());
        }
        if (and.isEmpty()) {
            p.addPermissions(Permission.newBuilder().setAny(true));
        } else {
            p.addPermissions(Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(and)));
        }
        return p.build();
    }
}
