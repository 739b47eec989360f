package dev.trellis.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.trellis.controlplane.policy.MeshPolicy;
import dev.trellis.controlplane.policy.PolicyParser;
import dev.trellis.controlplane.policy.PolicyValidator;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import java.util.List;
import org.junit.jupiter.api.Test;

/** AccessPolicy rules as RBAC: who "*" is. */
class AccessPoliciesTest {
    @Test
    void starIsAnyWorkloadOfTheTrustDomainNotAnyone() throws Exception {
        MeshPolicy p = PolicyValidator.validate(PolicyParser.parse("""
                kind: MeshConfig
                name: mesh
                spec: {trustDomain: example.org}
                ---
                kind: AccessPolicy
                name: users
                spec:
                  default: deny
                  rules:
                    - {action: allow, from: ["*"], methods: [GET]}
                """, "test", "api"), 1);
        List<io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter> f = AccessPolicies.filters("users", p);
        assertThat(f).hasSize(1);
        RBAC rules = f.get(0).getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules();
        Principal star = rules.getPoliciesOrThrow("allow-0").getPrincipals(0);
        assertThat(star.getAny()).isFalse();
        assertThat(star.getAuthenticated().getPrincipalName().getPrefix()).isEqualTo("spiffe://example.org/");
    }
}
