package dev.trellis.sidecar.filter.rbac;

import com.google.protobuf.Any;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.RouteTable;
import dev.trellis.sidecar.config.StringMatch;
import dev.trellis.sidecar.config.envoy.EnvoyTypes;
import dev.trellis.sidecar.config.envoy.Fields;
import dev.trellis.sidecar.config.envoy.RouteConfigTranslator;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The edge for {@code envoy.extensions.filters.http.rbac.v3.RBAC}: the subset the control plane
 * emits and an operator writes in a bootstrap, to {@link RbacConfig}. Anything else that would
 * change a decision is refused with its field path.
 */
public final class RbacTranslator {
    /** The filter's name in Envoy. */
    public static final String NAME = "envoy.filters.http.rbac";
    /** The typed_config type. */
    public static final String TYPE = io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor().getFullName();

    private RbacTranslator() {}

    /** Translates one {@code http_filters} entry whose {@code typed_config} ({@code path}) is an RBAC. */
    public static RbacConfig translate(String name, Any typedConfig, String path) {
        var f = EnvoyTypes.unpack(typedConfig, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class,
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor(), path);
        return translate(name, f, path);
    }

    public static RbacConfig translate(String name, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC f, String path) {
        Fields.allowOnly(f, path, "rules");
        if (!f.hasRules()) {
            return new RbacConfig(name, Optional.empty());
        }
        return new RbacConfig(name, Optional.of(rules(f.getRules(), path + ".rules")));
    }

    static RbacConfig.Rules rules(RBAC r, String path) {
        Fields.allowOnly(r, path, "action", "policies");
        RbacConfig.Action action = switch (r.getAction()) {
            case ALLOW -> RbacConfig.Action.ALLOW;
            case DENY -> RbacConfig.Action.DENY;
            default -> throw Fields.invalid(path + ".action", r.getAction(), "ALLOW or DENY");
        };
        Map<String, RbacConfig.Policy> policies = new TreeMap<>();
        for (Map.Entry<String, Policy> e : new TreeMap<>(r.getPoliciesMap()).entrySet()) {
            policies.put(e.getKey(), policy(e.getValue(), path + ".policies['" + e.getKey() + "']"));
        }
        return RbacConfig.Rules.of(action, policies);
    }

    private static RbacConfig.Policy policy(Policy p, String path) {
        Fields.allowOnly(p, path, "permissions", "principals");
        if (p.getPermissionsCount() == 0) {
            throw new ConfigException(path + ".permissions: empty (expected: at least one permission)");
        }
        if (p.getPrincipalsCount() == 0) {
            throw new ConfigException(path + ".principals: empty (expected: at least one principal)");
        }
        List<RbacConfig.Permission> perms = new ArrayList<>();
        for (int i = 0; i < p.getPermissionsCount(); i++) {
            perms.add(permission(p.getPermissions(i), path + ".permissions[" + i + "]"));
        }
        List<RbacConfig.Principal> ids = new ArrayList<>();
        for (int i = 0; i < p.getPrincipalsCount(); i++) {
            ids.add(principal(p.getPrincipals(i), path + ".principals[" + i + "]"));
        }
        return new RbacConfig.Policy(perms, ids);
    }

    static RbacConfig.Permission permission(Permission p, String path) {
        return switch (p.getRuleCase()) {
            case ANY -> {
                if (!p.getAny()) {
                    throw Fields.invalid(path + ".any", false, "true");
                }
                yield new RbacConfig.Permission.Any();
            }
            case AND_RULES -> new RbacConfig.Permission.And(permissions(p.getAndRules(), path + ".and_rules"));
            case OR_RULES -> new RbacConfig.Permission.Or(permissions(p.getOrRules(), path + ".or_rules"));
            case NOT_RULE -> new RbacConfig.Permission.Not(permission(p.getNotRule(), path + ".not_rule"));
            case URL_PATH -> {
                var m = p.getUrlPath();
                Fields.allowOnly(m, path + ".url_path", "path");
                if (!m.hasPath()) {
                    throw new ConfigException(path + ".url_path.path: missing (expected: a string matcher)");
                }
                yield new RbacConfig.Permission.UrlPath(RouteConfigTranslator.stringMatch(m.getPath(), path + ".url_path.path"));
            }
            case HEADER -> new RbacConfig.Permission.Header(header(p.getHeader(), path + ".header"));
            case RULE_NOT_SET -> throw new ConfigException(path + ": empty (expected: one of any, and_rules, or_rules, "
                    + "not_rule, url_path, header)");
            default -> throw new ConfigException(path + "." + p.getDescriptorForType().findFieldByNumber(
                    p.getRuleCase().getNumber()).getName() + ": not supported by Trellis (supported here: any, and_rules, "
                    + "or_rules, not_rule, url_path, header)");
        };
    }

    private static List<RbacConfig.Permission> permissions(Permission.Set s, String path) {
        Fields.allowOnly(s, path, "rules");
        if (s.getRulesCount() == 0) {
            throw new ConfigException(path + ".rules: empty (expected: at least one rule)");
        }
        List<RbacConfig.Permission> out = new ArrayList<>();
        for (int i = 0; i < s.getRulesCount(); i++) {
            out.add(permission(s.getRules(i), path + ".rules[" + i + "]"));
        }
        return out;
    }

    static RbacConfig.Principal principal(Principal p, String path) {
        return switch (p.getIdentifierCase()) {
            case ANY -> {
                if (!p.getAny()) {
                    throw Fields.invalid(path + ".any", false, "true");
                }
                yield new RbacConfig.Principal.Any();
            }
            case AND_IDS -> new RbacConfig.Principal.And(principals(p.getAndIds(), path + ".and_ids"));
            case OR_IDS -> new RbacConfig.Principal.Or(principals(p.getOrIds(), path + ".or_ids"));
            case NOT_ID -> new RbacConfig.Principal.Not(principal(p.getNotId(), path + ".not_id"));
            case AUTHENTICATED -> {
                var a = p.getAuthenticated();
                Fields.allowOnly(a, path + ".authenticated", "principal_name");
                yield new RbacConfig.Principal.Authenticated(a.hasPrincipalName()
                        ? Optional.of(RouteConfigTranslator.stringMatch(a.getPrincipalName(), path + ".authenticated.principal_name"))
                        : Optional.empty());
            }
            case IDENTIFIER_NOT_SET -> throw new ConfigException(path + ": empty (expected: one of any, and_ids, or_ids, "
                    + "not_id, authenticated)");
            default -> throw new ConfigException(path + "." + p.getDescriptorForType().findFieldByNumber(
                    p.getIdentifierCase().getNumber()).getName() + ": not supported by Trellis (supported here: any, "
                    + "and_ids, or_ids, not_id, authenticated)");
        };
    }

    private static List<RbacConfig.Principal> principals(Principal.Set s, String path) {
        Fields.allowOnly(s, path, "ids");
        if (s.getIdsCount() == 0) {
            throw new ConfigException(path + ".ids: empty (expected: at least one principal)");
        }
        List<RbacConfig.Principal> out = new ArrayList<>();
        for (int i = 0; i < s.getIdsCount(); i++) {
            out.add(principal(s.getIds(i), path + ".ids[" + i + "]"));
        }
        return out;
    }

    /** {@code HeaderMatcher}: exact/prefix/suffix/contains/regex/string_match, present_match, invert_match. */
    private static RouteTable.HeaderMatch header(HeaderMatcher h, String path) {
        Fields.allowOnly(h, path, "name", "exact_match", "safe_regex_match", "present_match", "prefix_match",
                "suffix_match", "contains_match", "string_match", "invert_match");
        if (h.getName().isEmpty()) {
            throw Fields.invalid(path + ".name", "''", "a header name");
        }
        StringMatch sm = switch (h.getHeaderMatchSpecifierCase()) {
            case EXACT_MATCH -> new StringMatch(StringMatch.Kind.EXACT, h.getExactMatch(), null, false);
            case PREFIX_MATCH -> new StringMatch(StringMatch.Kind.PREFIX, h.getPrefixMatch(), null, false);
            case SUFFIX_MATCH -> new StringMatch(StringMatch.Kind.SUFFIX, h.getSuffixMatch(), null, false);
            case CONTAINS_MATCH -> new StringMatch(StringMatch.Kind.CONTAINS, h.getContainsMatch(), null, false);
            case SAFE_REGEX_MATCH -> RouteConfigTranslator.stringMatch(
                    io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setSafeRegex(h.getSafeRegexMatch()).build(),
                    path + ".safe_regex_match");
            case STRING_MATCH -> RouteConfigTranslator.stringMatch(h.getStringMatch(), path + ".string_match");
            // Envoy: no specifier checks that the header is present
            default -> null;
        };
        boolean presentOnly = sm == null;
        boolean present = !presentOnly || h.getPresentMatch()
                || h.getHeaderMatchSpecifierCase() == HeaderMatcher.HeaderMatchSpecifierCase.HEADERMATCHSPECIFIER_NOT_SET;
        return new RouteTable.HeaderMatch(h.getName(), sm, presentOnly, present, h.getInvertMatch());
    }
}
