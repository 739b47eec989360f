package dev.trellis.sidecar.config;

import java.util.List;

/** Headers to add and remove at one level (route config, virtual host, route or weighted cluster). */
public record HeaderMutation(List<HeaderToAdd> add, List<String> remove) {
    public static final HeaderMutation NONE = new HeaderMutation(List.of(), List.of());

    public HeaderMutation {
        add = List.copyOf(add);
        remove = remove.stream().map(n -> n.toLowerCase(java.util.Locale.ROOT)).toList();
    }

    public boolean isEmpty() {
        return add.isEmpty() && remove.isEmpty();
    }

    /** One header to add; {@code append} false overwrites an existing value. */
    public record HeaderToAdd(String name, String value, Action action, boolean keepEmptyValue) {
        public HeaderToAdd {
            name = name.toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Envoy's {@code append_action}. */
    public enum Action { APPEND_IF_EXISTS_OR_ADD, ADD_IF_ABSENT, OVERWRITE_IF_EXISTS_OR_ADD, OVERWRITE_IF_EXISTS }
}
