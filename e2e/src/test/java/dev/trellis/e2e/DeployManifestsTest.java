package dev.trellis.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/ read against the code: every manifest parses, every flag a container passes exists in
 * the command it runs, ports and probe paths agree with the commands' defaults and with each
 * other, mounts and file flags point at the right volumes, and each Dockerfile copies the jar its
 * module builds and the launcher runs.
 */
class DeployManifestsTest {
    static final Path ROOT = Jars.ROOT;
    static final Path K8S = ROOT.resolve("deploy/k8s");
    static final Path DOCKER = ROOT.resolve("deploy/docker");
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static List<JsonNode> docs = new ArrayList<>();

    @BeforeAll
    static synchronized void load() throws IOException {
        if (!docs.isEmpty()) {
            return;
        }
        try (Stream<Path> files = Files.list(K8S)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                if (f.getFileName().toString().equals("kustomization.yaml")) {
                    continue;
                }
                try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(f.toFile())) {
                    while (it.hasNext()) {
                        JsonNode d = it.next();
                        if (d != null && !d.isNull() && !d.isEmpty()) {
                            ((com.fasterxml.jackson.databind.node.ObjectNode) d).put("__file", f.getFileName().toString());
                            docs.add(d);
                        }
                    }
                }
            }
        }
    }

    static List<JsonNode> kind(String kind) {
        return docs.stream().filter(d -> d.path("kind").asText().equals(kind)).toList();
    }

    static JsonNode named(String kind, String name) {
        return kind(kind).stream().filter(d -> d.path("metadata").path("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(kind + " '" + name + "' not found in deploy/k8s"));
    }

    static List<String> args(JsonNode container) {
        List<String> out = new ArrayList<>();
        container.path("args").forEach(a -> out.add(a.asText()));
        return out;
    }

    /** Values of a flag in an args list ({@code --flag value} or {@code --flag=value}). */
    static List<String> flag(List<String> args, String name) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals(name) && i + 1 < args.size()) {
                out.add(args.get(i + 1));
            } else if (args.get(i).startsWith(name + "=")) {
                out.add(args.get(i).substring(name.length() + 1));
            }
        }
        return out;
    }

    static String one(List<String> args, String name) {
        List<String> v = flag(args, name);
        assertThat(v).as("exactly one " + name + " in " + args).hasSize(1);
        return v.get(0);
    }

    static Set<Integer> containerPorts(JsonNode container) {
        Set<Integer> ports = new TreeSet<>();
        container.path("ports").forEach(p -> ports.add(p.path("containerPort").asInt()));
        return ports;
    }

    static String imageName(JsonNode container) {
        String image = container.path("image").asText();
        assertThat(image).as("image").startsWith("trellis/").contains(":");
        return image.substring("trellis/".length(), image.indexOf(':'));
    }

    /** The options of the command a container runs, from that image's jar. */
    static Map<String, String> commandOptions(JsonNode container) throws IOException, InterruptedException {
        List<String> args = args(container);
        return switch (imageName(container)) {
            case "control-plane" -> Jars.options(Jars.CONTROL_PLANE, args.get(0));
            case "sidecar" -> Jars.options(Jars.SIDECAR, args.get(0));
            case "user-service" -> Jars.options(Jars.USER_SERVICE);
            case "notification-service" -> Jars.options(Jars.NOTIFICATION_SERVICE);
            default -> throw new AssertionError("unknown image " + container.path("image").asText());
        };
    }

    /** Every --option a container passes is an option of its command (and the command exists). */
    static Map<String, String> checkFlags(JsonNode container) throws IOException, InterruptedException {
        Map<String, String> options = commandOptions(container);
        for (String a : args(container)) {
            if (a.startsWith("--")) {
                String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
                assertThat(options).as(container.path("name").asText() + " (" + container.path("image").asText()
                        + " " + args(container).get(0) + ") has option " + name).containsKey(name);
            }
        }
        return options;
    }

    /** What trellis run gives an app for an upstream (its documented contract). */
    static String upstreamEnvName(String upstream) {
        return "TRELLIS_UPSTREAM_" + upstream.toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_') + "_URL";
    }

    static void checkProbes(JsonNode container, int port) {
        assertThat(container.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/health");
        assertThat(container.path("livenessProbe").path("httpGet").path("port").asInt()).isEqualTo(port);
        assertThat(container.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/ready");
        assertThat(container.path("readinessProbe").path("httpGet").path("port").asInt()).isEqualTo(port);
    }

    /** A file flag's directory is a mount of this container whose volume provides that file name. */
    static JsonNode checkFileFromVolume(JsonNode pod, JsonNode container, String file) {
        Path p = Path.of(file);
        JsonNode mount = null;
        for (JsonNode m : container.path("volumeMounts")) {
            if (Path.of(m.path("mountPath").asText()).equals(p.getParent())) {
                mount = m;
            }
        }
        assertThat(mount).as(file + " is in a volume mounted by " + container.path("name").asText()).isNotNull();
        JsonNode volume = volume(pod, mount.path("name").asText());
        JsonNode source = volume.has("secret") ? volume.path("secret") : volume.path("configMap");
        assertThat(source.isMissingNode()).as(file + " comes from a Secret or ConfigMap").isFalse();
        List<String> items = new ArrayList<>();
        source.path("items").forEach(i -> items.add(i.path("path").asText()));
        if (!items.isEmpty()) {
            assertThat(items).as("items of volume " + volume.path("name").asText()).contains(p.getFileName().toString());
        } else {
            assertThat(p.getFileName().toString()).as("key of a tls Secret").isIn("tls.crt", "tls.key");
        }
        return volume;
    }

    static JsonNode volume(JsonNode pod, String name) {
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("volume '" + name + "' is not defined in the pod");
    }

    static JsonNode container(JsonNode pod, String name) {
        for (JsonNode c : pod.path("containers")) {
            if (c.path("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("container '" + name + "' not found");
    }

    @Test
    void everyManifestParsesAndIsListedInTheKustomization() throws IOException {
        assertThat(kind("Deployment")).extracting(d -> d.path("metadata").path("name").asText())
                .contains("trellis-control-plane", "user-service", "notification-service");
        JsonNode k = YAML.readTree(K8S.resolve("kustomization.yaml").toFile());
        List<String> listed = new ArrayList<>();
        k.path("resources").forEach(r -> listed.add(r.asText()));
        try (Stream<Path> files = Files.list(K8S)) {
            assertThat(listed).containsExactlyInAnyOrderElementsOf(files.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).toList());
        }
        for (JsonNode d : docs) {
            assertThat(d.path("apiVersion").asText()).as(d.path("__file").asText()).isNotEmpty();
            if (!d.path("kind").asText().equals("Namespace")) {
                assertThat(d.path("metadata").path("namespace").asText()).as(d.path("__file").asText()).isEqualTo("trellis");
            }
        }
    }

    @Test
    void controlPlaneUsesTheCodesPortsAndAPersistentDataDir() throws Exception {
        JsonNode deployment = named("Deployment", "trellis-control-plane");
        JsonNode pod = deployment.path("spec").path("template").path("spec");
        JsonNode c = container(pod, "control-plane");
        Map<String, String> cp = checkFlags(c);
        List<String> args = args(c);
        int grpc = Integer.parseInt(one(args, "--port"));
        int admin = Integer.parseInt(one(args, "--admin-port"));
        assertThat(grpc).isEqualTo(Jars.intDefault(cp, "--port").orElseThrow()).isEqualTo(15012);
        assertThat(admin).isEqualTo(Jars.intDefault(cp, "--admin-port").orElseThrow()).isEqualTo(15014);
        assertThat(one(args, "--bind")).isEqualTo("0.0.0.0");
        assertThat(containerPorts(c)).contains(grpc, admin);
        checkProbes(c, admin);
        // the data dir is the PVC's mount
        String dataDir = one(args, "--data-dir");
        JsonNode mount = null;
        for (JsonNode m : c.path("volumeMounts")) {
            if (m.path("mountPath").asText().equals(dataDir)) {
                mount = m;
            }
        }
        assertThat(mount).as("--data-dir is a mount").isNotNull();
        String claim = volume(pod, mount.path("name").asText()).path("persistentVolumeClaim").path("claimName").asText();
        named("PersistentVolumeClaim", claim);
        assertThat(deployment.path("spec").path("strategy").path("type").asText()).isEqualTo("Recreate");
        // the Service reaches both ports of the pods it selects
        JsonNode svc = named("Service", "trellis-control-plane");
        assertThat(svc.path("spec").path("selector")).isEqualTo(deployment.path("spec").path("selector").path("matchLabels"));
        Set<Integer> targets = new TreeSet<>();
        svc.path("spec").path("ports").forEach(p -> targets.add(p.path("targetPort").asInt()));
        assertThat(targets).containsExactlyInAnyOrder(grpc, admin);
    }

    @Test
    void eachDockerfileCopiesTheJarItsModuleBuildsAndTheLauncherRuns() throws IOException {
        String launcher = Files.readString(ROOT.resolve("trellis"));
        Pattern pl = Pattern.compile("-pl (\\S+) -am package");
        Pattern copy = Pattern.compile("COPY --from=build /src/(\\S+) /opt/trellis/(\\S+)");
        Set<String> images = new TreeSet<>();
        for (JsonNode d : kind("Deployment")) {
            d.path("spec").path("template").path("spec").path("containers").forEach(c -> images.add(imageName(c)));
        }
        assertThat(images).isNotEmpty();
        for (String image : images) {
            Path dockerfile = DOCKER.resolve(image + ".Dockerfile");
            assertThat(dockerfile).as("Dockerfile of image trellis/" + image).exists();
            String text = Files.readString(dockerfile);
            Matcher m = pl.matcher(text);
            assertThat(m.find()).as(dockerfile + " builds one module").isTrue();
            String module = m.group(1);
            String pom = Files.readString(ROOT.resolve(module).resolve("pom.xml"));
            Matcher jarName = Pattern.compile("<runnable.jar.name>(.+)</runnable.jar.name>").matcher(pom);
            assertThat(jarName.find()).as(module + " builds a runnable jar").isTrue();
            String jar = jarName.group(1) + ".jar";
            Matcher c = copy.matcher(text);
            assertThat(c.find()).as(dockerfile + " copies the jar from the build stage").isTrue();
            assertThat(c.group(1)).isEqualTo(module + "/target/" + jar);
            assertThat(c.group(2)).isEqualTo(jar);
            assertThat(launcher).as("the launcher runs " + c.group(1)).contains(c.group(1));
            // exec form, or the sidecar's shell form that puts its JVM options file first
            assertThat(text).containsPattern("-jar(\", \"| )/opt/trellis/" + java.util.regex.Pattern.quote(jar) + "[\" ]")
                    .contains("USER 10001:10001")
                    .containsPattern("(?m)^FROM maven:\\S+ AS build$").containsPattern("(?m)^FROM eclipse-temurin:17-jre\\S*$");
        }
    }
}
