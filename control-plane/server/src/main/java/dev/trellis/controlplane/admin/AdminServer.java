package dev.trellis.controlplane.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.trellis.controlplane.policy.PolicyDocument;
import dev.trellis.controlplane.policy.PolicyException;
import dev.trellis.controlplane.policy.PolicyKind;
import dev.trellis.controlplane.policy.PolicyParser;
import dev.trellis.controlplane.policy.PolicyRevision;
import dev.trellis.controlplane.policy.PolicyStore;
import dev.trellis.controlplane.registry.Registry;
import dev.trellis.controlplane.registry.ServiceInstance;
import dev.trellis.controlplane.xds.ProxyStatus;
import dev.trellis.controlplane.xds.ProxyTracker;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's HTTP admin port: the policy REST API under {@code /api/v1/policy}, proxy
 * status under {@code /api/v1/proxies}, the registry under {@code /api/v1/registry}, and
 * {@code /health}, {@code /ready}, {@code /metrics}. Errors are JSON {@code {"errors": [...]}}.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .findAndRegisterModules();
    static final YAMLMapper YAML = YAMLMapper.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES).build();
    private static final int MAX_BODY = 4 << 20;

    private final HttpServer server;
    private final ExecutorService executor;
    private final PolicyStore policy;
    private final Registry registry;
    private final ProxyTracker proxies;
    private final PrometheusMeterRegistry metrics;
    private final BooleanSupplier ready;
    private final Guard guard;
    private final java.util.function.Function<String, dev.trellis.controlplane.xds.XdsResources> configOf;

    /**
     * Decides whether a request to {@code /api/...} may proceed; {@code /health}, {@code /ready} and
     * {@code /metrics} stay open. The identity work plugs in the operator token check here.
     */
    @FunctionalInterface
    public interface Guard {
        Guard ALLOW_ALL = (method, path, headers) -> null;

        /** Returns null to allow, or the reason for a 401. */
        String check(String method, String path, com.sun.net.httpserver.Headers headers);
    }

    /** More {@code /api/} routes (behind the guard), e.g. tokens and certificates. */
    @FunctionalInterface
    public interface Api {
        /** The answer as a JSON value, or null when {@code path} is not this API's. */
        ApiReply handle(String method, String path, Map<String, String> query, Body body) throws IOException;
    }

    /** The request body, read when asked for. */
    @FunctionalInterface
    public interface Body {
        String read() throws IOException;
    }

    /** A JSON answer of an {@link Api}. */
    public record ApiReply(int status, Object json) {}

    private final List<Api> apis = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Adds routes; call before {@link #start()}. */
    public void addApi(Api api) {
        apis.add(api);
    }

    public AdminServer(InetSocketAddress bind, PolicyStore policy, Registry registry, ProxyTracker proxies,
                       PrometheusMeterRegistry metrics, BooleanSupplier ready, Guard guard,
                       java.util.function.Function<String, dev.trellis.controlplane.xds.XdsResources> configOf)
            throws IOException {
        this.guard = guard;
        this.configOf = configOf;
        this.policy = policy;
        this.registry = registry;
        this.proxies = proxies;
        this.metrics = metrics;
        this.ready = ready;
        this.server = HttpServer.create(bind, 64);
        this.executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "trellis-admin");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
    }

    public void start() {
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    /** An HTTP answer: status, content type and body. */
    private record Reply(int status, String contentType, byte[] body) {
        static Reply json(int status, Object value) {
            try {
                return new Reply(status, "application/json", JSON.writeValueAsBytes(value));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        static Reply errors(int status, List<String> errors) {
            ObjectNode o = JSON.createObjectNode();
            ArrayNode a = o.putArray("errors");
            errors.forEach(a::add);
            return json(status, o);
        }

        static Reply text(int status, String text) {
            return new Reply(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        Reply reply;
        try {
            reply = route(ex);
        } catch (RuntimeException e) {
            log.error("admin {} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
            reply = Reply.errors(500, List.of("internal error: " + e));
        }
        byte[] body = reply.body();
        ex.getResponseHeaders().set("Content-Type", reply.contentType());
        boolean head = ex.getRequestMethod().equals("HEAD");
        ex.sendResponseHeaders(reply.status(), head || body.length == 0 ? -1 : body.length);
        if (!head && body.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(body);
            }
        }
        ex.close();
    }

    private Reply route(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        Map<String, String> query = query(ex.getRequestURI().getRawQuery());
        boolean yaml = "yaml".equals(query.get("format"))
                || String.valueOf(ex.getRequestHeaders().getFirst("Accept")).contains("yaml");
        if (path.startsWith("/api/")) {
            String denied = guard.check(method, path, ex.getRequestHeaders());
            if (denied != null) return Reply.errors(401, List.of(denied));
            for (Api api : apis) {
                ApiReply r = api.handle(method, path, query,
                        () -> new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
                if (r != null) return Reply.json(r.status(), r.json());
            }
        }
        switch (path) {
            case "/health":
                return Reply.text(200, "ok\n");
            case "/ready":
                return ready.getAsBoolean() ? Reply.text(200, "ready\n") : Reply.text(503, "not ready\n");
            case "/metrics":
                return new Reply(200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics.scrape().getBytes(StandardCharsets.UTF_8));
            case "/api/v1/proxies":
                return get(method, () -> Reply.json(200, proxiesJson()));
            case "/api/v1/registry":
                return get(method, () -> Reply.json(200, registryJson()));
            case "/api/v1/config_dump":
                return get(method, () -> configDump(query.get("node")));
            case "/api/v1/policy":
                if (method.equals("GET")) return policyList(yaml, query.get("kind"));
                if (method.equals("POST")) return apply(ex, null, null);
                return methodNotAllowed(method, "GET, POST");
            case "/api/v1/policy:validate":
                if (!method.equals("POST")) return methodNotAllowed(method, "POST");
                return validate(ex);
            case "/api/v1/policy/history":
                return get(method, () -> Reply.json(200, historyJson()));
            case "/api/v1/policy:rollback":
                if (!method.equals("POST")) return methodNotAllowed(method, "POST");
                return rollback(query.get("to"));
            default:
                break;
        }
        if (path.startsWith("/api/v1/policy/")) {
            String[] parts = path.substring("/api/v1/policy/".length()).split("/");
            PolicyKind kind = PolicyKind.parse(decode(parts[0]));
            if (kind == null) {
                return Reply.errors(404, List.of("kind: " + decode(parts[0]) + " (expected: one of " + PolicyKind.names() + ")"));
            }
            if (parts.length == 1) {
                return method.equals("GET") ? policyList(yaml, kind.name())
                        : methodNotAllowed(method, "GET");
            }
            if (parts.length != 2) return Reply.errors(404, List.of("path: " + path + " (expected: /api/v1/policy/KIND/NAME)"));
            String name = decode(parts[1]);
            return switch (method) {
                case "GET" -> getDoc(kind, name, yaml);
                case "PUT" -> apply(ex, kind, name);
                case "DELETE" -> delete(kind, name);
                default -> methodNotAllowed(method, "GET, PUT, DELETE");
            };
        }
        return Reply.errors(404, List.of("path: " + path + " (expected: /api/v1/policy, /api/v1/proxies, /api/v1/registry,"
                + " /health, /ready or /metrics)"));
    }

    private interface Get {
        Reply get() throws IOException;
    }

    private static Reply get(String method, Get g) throws IOException {
        return method.equals("GET") || method.equals("HEAD") ? g.get() : methodNotAllowed(method, "GET");
    }

    private static Reply methodNotAllowed(String method, String allowed) {
        return Reply.errors(405, List.of("method: " + method + " (expected: " + allowed + ")"));
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> m = new HashMap<>();
        if (raw == null) return m;
        for (String kv : raw.split("&")) {
            int eq = kv.indexOf('=');
            if (eq < 0) m.put(decode(kv), "");
            else m.put(decode(kv.substring(0, eq)), decode(kv.substring(eq + 1)));
        }
        return m;
    }

    private static String body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes(MAX_BODY + 1);
            if (b.length > MAX_BODY) throw new IOException("request body over " + MAX_BODY + " bytes");
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    private Reply policyList(boolean yaml, String kind) throws IOException {
        PolicyRevision cur = policy.current();
        List<JsonNode> docs = new ArrayList<>();
        for (PolicyDocument d : cur.documents()) {
            if (kind == null || d.kind().name().equalsIgnoreCase(kind)) docs.add(PolicyParser.toJson(d));
        }
        if (yaml) {
            StringBuilder sb = new StringBuilder("# revision ").append(cur.revision()).append('\n');
            for (JsonNode d : docs) sb.append("---\n").append(YAML.writeValueAsString(d));
            return new Reply(200, "application/yaml", sb.toString().getBytes(StandardCharsets.UTF_8));
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("revision", cur.revision());
        o.putArray("documents").addAll(docs);
        return Reply.json(200, o);
    }

    private Reply getDoc(PolicyKind kind, String name, boolean yaml) throws IOException {
        PolicyRevision cur = policy.current();
        for (PolicyDocument d : cur.documents()) {
            if (d.kind() == kind && d.name().equals(name)) {
                JsonNode j = PolicyParser.toJson(d);
                return yaml ? new Reply(200, "application/yaml", YAML.writeValueAsBytes(j)) : Reply.json(200, j);
            }
        }
        return Reply.errors(404, List.of(kind + "/" + name + ": not found (revision " + cur.revision() + ")"));
    }

    /** PUT of one document (kind and name from the URL), or POST of many as one change. */
    private Reply apply(HttpExchange ex, PolicyKind kind, String name) throws IOException {
        String origin = kind == null ? "request body" : kind + "/" + name;
        try {
            List<PolicyDocument> docs = parseBody(body(ex), origin, kind, name);
            PolicyRevision before = policy.current();
            PolicyRevision r = policy.apply(docs, List.of(), "api");
            return Reply.json(200, revisionJson(r, r == before));
        } catch (PolicyException e) {
            return Reply.errors(400, e.errors());
        }
    }

    private static List<PolicyDocument> parseBody(String body, String origin, PolicyKind kind, String name)
            throws PolicyException {
        if (kind != null) {
            // a PUT body may be the whole document or only its spec
            JsonNode n;
            try {
                n = PolicyParser.parseTree(body);
            } catch (PolicyException e) {
                throw e;
            }
            if (n != null && n.isObject() && !n.has("kind") && !n.has("name") && !n.has("spec")) {
                return List.of(new PolicyDocument(kind, name, n, "api"));
            }
            List<PolicyDocument> docs = PolicyParser.parse(body, origin, "api");
            if (docs.size() != 1 || docs.get(0).kind() != kind || !docs.get(0).name().equals(name)) {
                String got = docs.size() == 1 ? docs.get(0).ref() : docs.size() + " documents";
                throw new PolicyException(origin + ": body: " + got + " (expected: one document " + kind + "/" + name
                        + ", as in the URL)");
            }
            return docs;
        }
        List<PolicyDocument> docs = PolicyParser.parse(body, origin, "api");
        if (docs.isEmpty()) throw new PolicyException(origin + ": empty (expected: at least one policy document)");
        return docs;
    }

    private Reply validate(HttpExchange ex) throws IOException {
        try {
            List<PolicyDocument> docs = parseBody(body(ex), "request body", null, null);
            policy.dryRun(docs);
            ObjectNode o = JSON.createObjectNode();
            o.put("valid", true);
            o.put("documents", docs.size());
            o.put("revision", policy.current().revision());
            return Reply.json(200, o);
        } catch (PolicyException e) {
            return Reply.errors(400, e.errors());
        }
    }

    private Reply delete(PolicyKind kind, String name) {
        try {
            PolicyRevision r = policy.apply(List.of(), List.of(new PolicyDocument.Key(kind, name)), "api");
            return Reply.json(200, revisionJson(r, false));
        } catch (PolicyException e) {
            boolean missing = e.errors().stream().anyMatch(s -> s.contains("not found"));
            return Reply.errors(missing ? 404 : 400, e.errors());
        }
    }

    private Reply rollback(String to) {
        long rev;
        try {
            rev = Long.parseLong(to == null ? "" : to.trim());
        } catch (NumberFormatException e) {
            return Reply.errors(400, List.of("to: '" + (to == null ? "" : to) + "' (expected: a revision number)"));
        }
        try {
            PolicyRevision before = policy.current();
            PolicyRevision r = policy.rollback(rev);
            return Reply.json(200, revisionJson(r, r == before));
        } catch (PolicyException e) {
            return Reply.errors(400, e.errors());
        }
    }

    private static ObjectNode revisionJson(PolicyRevision r, boolean unchanged) {
        ObjectNode o = JSON.createObjectNode();
        o.put("revision", r.revision());
        o.put("unchanged", unchanged);
        ArrayNode ch = o.putArray("changes");
        if (!unchanged) r.changes().forEach(ch::add);
        return o;
    }

    private ObjectNode historyJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("current", policy.current().revision());
        ArrayNode a = o.putArray("revisions");
        for (PolicyRevision r : policy.history()) {
            ObjectNode e = a.addObject();
            e.put("revision", r.revision());
            e.put("time", r.time().toString());
            e.put("source", r.source());
            e.put("documents", r.documents().size());
            ArrayNode ch = e.putArray("changes");
            r.changes().forEach(ch::add);
        }
        return o;
    }

    private ArrayNode proxiesJson() {
        ArrayNode a = JSON.createArrayNode();
        for (ProxyStatus p : proxies.proxies()) {
            ObjectNode o = a.addObject();
            o.put("node", p.nodeId());
            o.put("type", p.type());
            o.put("service", p.service());
            o.put("instance", p.instanceId());
            o.put("stream", p.streamId());
            o.put("connectedSince", p.connectedSince().toString());
            o.put("state", p.state().name());
            ObjectNode res = o.putObject("resources");
            p.resources().forEach((type, t) -> {
                ObjectNode r = res.putObject(type);
                r.put("sent", t.sent());
                r.put("sentAt", t.sentAt() == null ? null : t.sentAt().toString());
                r.put("acked", t.acked());
                r.put("ackedAt", t.ackedAt() == null ? null : t.ackedAt().toString());
                if (t.nackError() != null) {
                    ObjectNode n = r.putObject("lastNack");
                    n.put("version", t.nackedVersion());
                    n.put("error", t.nackError());
                    n.put("at", t.nackedAt().toString());
                }
            });
        }
        return a;
    }

    private static final com.google.protobuf.util.JsonFormat.Printer PROTO_JSON = com.google.protobuf.util.JsonFormat
            .printer().usingTypeRegistry(com.google.protobuf.TypeRegistry.newBuilder()
                    .add(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.getDescriptor())
                    .add(io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDescriptor())
                    .add(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDescriptor())
                    .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
                    .add(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.getDescriptor())
                    .add(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.getDescriptor())
                    .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor())
                    .add(io.envoyproxy.envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest.getDescriptor())
                    .add(com.github.xds.type.v3.TypedStruct.getDescriptor())
                    .build());

    /** The xDS resources the control plane currently publishes for one node, as proto JSON. */
    private Reply configDump(String node) throws IOException {
        if (node == null || node.isEmpty()) {
            return Reply.errors(400, List.of("node: missing (expected: ?node=<xDS node id>, see /api/v1/proxies)"));
        }
        dev.trellis.controlplane.xds.XdsResources r = configOf.apply(node);
        if (r == null) return Reply.errors(404, List.of("node: " + node + " (expected: a connected node)"));
        ObjectNode o = JSON.createObjectNode();
        o.put("node", node);
        dump(o.putObject("listeners"), r.listeners());
        dump(o.putObject("routes"), r.routes());
        dump(o.putObject("clusters"), r.clusters());
        dump(o.putObject("endpoints"), r.endpoints());
        return Reply.json(200, o);
    }

    private static void dump(ObjectNode into, Map<String, ? extends com.google.protobuf.MessageOrBuilder> resources)
            throws IOException {
        for (Map.Entry<String, ? extends com.google.protobuf.MessageOrBuilder> e : resources.entrySet()) {
            into.set(e.getKey(), JSON.readTree(PROTO_JSON.print(e.getValue())));
        }
    }

    private ArrayNode registryJson() {
        ArrayNode a = JSON.createArrayNode();
        for (ServiceInstance i : registry.instances()) {
            ObjectNode o = a.addObject();
            o.put("service", i.service());
            o.put("instance", i.instanceId());
            o.put("node", i.nodeId());
            o.put("endpoint", i.endpoint());
            o.put("appPort", i.appPort());
            o.put("appGrpcPort", i.appGrpcPort());
            o.put("protocol", i.protocol());
            o.put("health", i.health().name());
            o.put("healthDetail", i.healthDetail());
            o.put("connected", i.connected());
            o.put("routable", i.routable());
            o.put("registeredAt", i.registeredAt().toString());
            ObjectNode l = o.putObject("labels");
            i.labels().forEach(l::put);
            ArrayNode u = o.putArray("upstreams");
            i.upstreams().forEach(u::add);
        }
        return a;
    }
}
