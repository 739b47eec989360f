package dev.trellis.sidecar.config.envoy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.trellis.sidecar.config.ConfigException;
import dev.trellis.sidecar.config.SidecarConfig;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * Reads an Envoy v3 {@code Bootstrap} from YAML or JSON. Unknown fields and unknown
 * {@code typed_config} types are refused with their path before protobuf parsing.
 */
public final class BootstrapLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    private BootstrapLoader() {}

    /** Reads, parses, checks and translates {@code file} into the sidecar's model. */
    public static SidecarConfig load(Path file) {
        return BootstrapTranslator.translate(read(file));
    }

    /** Reads {@code file} as a {@code Bootstrap} proto. */
    public static Bootstrap read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException("bootstrap '" + file + "': cannot read: " + e.getMessage(), e);
        }
        try {
            return parse(text, file.toString().endsWith(".json"));
        } catch (ConfigException e) {
            throw new ConfigException("bootstrap '" + file + "': " + e.getMessage(), e);
        }
    }

    /** Parses YAML (or JSON, which is read as YAML too unless {@code json}). */
    public static Bootstrap parse(String text, boolean json) {
        JsonNode tree;
        try {
            tree = (json ? JSON : YAML).readTree(text);
        } catch (JsonProcessingException e) {
            String first = String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("").trim();
            throw new ConfigException("not valid " + (json ? "JSON" : "YAML")
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()) + ": " + first, e);
        }
        if (tree == null || !tree.isObject()) {
            throw new ConfigException("expected a Bootstrap object at the top level");
        }
        check(tree, Bootstrap.getDescriptor(), "");
        Bootstrap.Builder b = Bootstrap.newBuilder();
        try {
            JsonFormat.parser().usingTypeRegistry(EnvoyTypes.REGISTRY).merge(tree.toString(), b);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        return b.build();
    }

    /** Walks the tree against the descriptors so an error names the field path. */
    private static void check(JsonNode node, Descriptor d, String path) {
        String full = d.getFullName();
        if (full.startsWith("google.protobuf.") && !full.equals("google.protobuf.Any")) {
            return;
        }
        if (!node.isObject()) {
            return;
        }
        if (full.equals("google.protobuf.Any")) {
            JsonNode type = node.get("@type");
            if (type == null || !type.isTextual()) {
                throw new ConfigException(path + ": typed_config without '@type'");
            }
            String url = type.asText();
            String name = url.substring(url.lastIndexOf('/') + 1);
            Descriptor inner = EnvoyTypes.REGISTRY.find(name);
            if (inner == null) {
                throw new ConfigException(path + ": unknown typed_config type '" + name
                        + "' (supported: " + EnvoyTypes.supportedNames() + ")");
            }
            d = inner;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            if (key.equals("@type")) {
                continue;
            }
            FieldDescriptor f = d.findFieldByName(key);
            if (f == null) {
                for (FieldDescriptor c : d.getFields()) {
                    if (c.getJsonName().equals(key)) {
                        f = c;
                        break;
                    }
                }
            }
            String p = Fields.join(path, key);
            if (f == null) {
                throw new ConfigException(p + ": unknown field in " + d.getFullName());
            }
            if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE || f.isMapField()) {
                continue;
            }
            JsonNode v = e.getValue();
            if (f.isRepeated() && v.isArray()) {
                for (int i = 0; i < v.size(); i++) {
                    check(v.get(i), f.getMessageType(), p + "[" + i + "]");
                }
            } else {
                check(v, f.getMessageType(), p);
            }
        }
    }
}
