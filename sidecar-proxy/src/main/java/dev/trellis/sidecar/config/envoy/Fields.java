package dev.trellis.sidecar.config.envoy;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import dev.trellis.sidecar.config.ConfigException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/** Field-level helpers shared by the translators (also those of filter packages). */
public final class Fields {
    private Fields() {}

    /**
     * Refuses every field set in {@code message} whose name is not in {@code supported}: a field
     * that would change behaviour is never ignored silently.
     */
    public static void allowOnly(Message message, String path, String... supported) {
        Set<String> ok = Set.of(supported);
        for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
            String name = e.getKey().getName();
            if (!ok.contains(name)) {
                throw new ConfigException(join(path, name) + ": not supported by Trellis"
                        + (supported.length == 0 ? "" : " (supported here: " + String.join(", ", supported) + ")"));
            }
        }
    }

    static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    static Duration duration(com.google.protobuf.Duration d) {
        return Duration.ofSeconds(d.getSeconds(), d.getNanos());
    }

    static Duration positive(com.google.protobuf.Duration d, String path) {
        Duration v = duration(d);
        if (v.isNegative() || v.isZero()) {
            throw new ConfigException(path + ": " + v.toMillis() + "ms (expected: > 0)");
        }
        return v;
    }

    public static ConfigException invalid(String path, Object value, String expected) {
        return new ConfigException(path + ": " + value + " (expected: " + expected + ")");
    }
}
